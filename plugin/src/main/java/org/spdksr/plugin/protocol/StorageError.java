package org.spdksr.plugin.protocol;

import java.util.List;

/**
 * The errors an entry point reports. The IDL variants of smapiv3.md §4.2 reach xapi as
 * {@code SR_BACKEND_FAILURE [<Variant>, <arg>, …]} (§3.3, what the reference Python helper does);
 * we append a sentence for the administrator as the last parameter, which xe prints.
 */
public sealed interface StorageError {

    /** The code and parameters put on the wire; {@code message} is the sentence for a person. */
    ErrorRecord toRecord(String message);

    /** An IDL variant with its one string argument. */
    sealed interface IdlVariant extends StorageError {
        String variant();

        String argument();

        @Override
        default ErrorRecord toRecord(String message) {
            return new ErrorRecord(
                    "SR_BACKEND_FAILURE", List.of(variant(), argument(), message), ErrorRecord.Backtrace.of(message));
        }
    }

    record VolumeDoesNotExist(String argument) implements IdlVariant {
        @Override
        public String variant() {
            return "Volume_does_not_exist";
        }
    }

    record SrDoesNotExist(String argument) implements IdlVariant {
        @Override
        public String variant() {
            return "SR_does_not_exist";
        }
    }

    record SrNotAttached(String argument) implements IdlVariant {
        @Override
        public String variant() {
            return "Sr_not_attached";
        }
    }

    record Unimplemented(String argument) implements IdlVariant {
        @Override
        public String variant() {
            return "Unimplemented";
        }
    }

    record Cancelled(String argument) implements IdlVariant {
        @Override
        public String variant() {
            return "Cancelled";
        }
    }

    /**
     * xapi-storage-script recognises this one only when params is exactly
     * {@code ["Activated_on_another_host", <host-uuid>]} (§3.3), so no message is appended.
     */
    record ActivatedOnAnotherHost(String hostUuid) implements StorageError {
        @Override
        public ErrorRecord toRecord(String message) {
            return new ErrorRecord(
                    "SR_BACKEND_FAILURE",
                    List.of("Activated_on_another_host", hostUuid),
                    ErrorRecord.Backtrace.of(message));
        }
    }

    /**
     * Any other failure: {@code code} is a XenAPI error code (e.g. {@code SR_BACKEND_FAILURE_79} for
     * a refused shrink, as XCP-ng's own plugins use), {@code reason} a short machine-readable word and
     * {@code object} the SR, volume or argument concerned.
     */
    record BackendFailure(String code, String reason, String object) implements StorageError {
        @Override
        public ErrorRecord toRecord(String message) {
            return new ErrorRecord(code, List.of(reason, object, message), ErrorRecord.Backtrace.of(message));
        }
    }

    /** The call itself is malformed: not JSON, a missing or mistyped argument, a bad device-config. */
    static BackendFailure invalidArguments(String method) {
        return new BackendFailure("SR_BACKEND_FAILURE", "Invalid_arguments", method);
    }
}
