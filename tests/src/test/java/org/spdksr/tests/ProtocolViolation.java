package org.spdksr.tests;

/**
 * The plugin answered something xapi-storage-script could not unmarshal (a missing mandatory
 * field, a wrong type). In XSS this surfaces as SCRIPT_FAILED or an rpclib error; in the tests
 * it is always a bug in the plugin, so it is an unchecked exception that fails the test.
 */
public class ProtocolViolation extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public ProtocolViolation(String message) {
        super(message);
    }
}
