package org.spdksr.plugin.protocol;

/**
 * A failure to report to xapi as an error record. The message is for a person: what failed, on
 * which object, and what to do next.
 */
public class SmapiException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient StorageError error;

    public SmapiException(StorageError error, String message) {
        super(message);
        this.error = error;
    }

    public SmapiException(StorageError error, String message, Throwable cause) {
        super(message, cause);
        this.error = error;
    }

    public StorageError error() {
        return error;
    }

    public ErrorRecord toRecord() {
        return error.toRecord(getMessage());
    }
}
