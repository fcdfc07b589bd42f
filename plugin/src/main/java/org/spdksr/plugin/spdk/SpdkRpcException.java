package org.spdksr.plugin.spdk;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A failed SPDK call. {@link #kind()} says what happened; the message names the method, the
 * socket, SPDK's own code and text, and what to do.
 */
public final class SpdkRpcException extends IOException {
    private static final long serialVersionUID = 1L;

    private final SpdkErrorKind kind;
    private final String method;
    private final Integer code;
    private final String spdkMessage;
    private final transient Path socket;

    public SpdkRpcException(SpdkErrorKind kind, String method, Path socket, Integer code, String spdkMessage,
            Throwable cause) {
        super(describe(kind, method, socket, code, spdkMessage), cause);
        this.kind = kind;
        this.method = method;
        this.code = code;
        this.spdkMessage = spdkMessage;
        this.socket = socket;
    }

    /** The socket of the spdk_tgt called. */
    public Path socket() {
        return socket;
    }

    private static String describe(SpdkErrorKind kind, String method, Path socket, Integer code, String text) {
        String what = code == null
                ? text
                : "spdk_tgt answered error " + code + " '" + text + "'";
        return "SPDK call " + method + " on " + socket + " failed: " + what + " (" + kind.name().toLowerCase()
                .replace('_', ' ') + "); " + kind.advice() + ".";
    }

    public SpdkErrorKind kind() {
        return kind;
    }

    public String method() {
        return method;
    }

    /** SPDK's error code, or null when the failure happened before a reply (connect, timeout). */
    public Integer code() {
        return code;
    }

    /** SPDK's own error text, or our description of a transport failure. */
    public String spdkMessage() {
        return spdkMessage;
    }
}
