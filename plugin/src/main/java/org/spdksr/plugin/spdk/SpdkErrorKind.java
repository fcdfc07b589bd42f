package org.spdksr.plugin.spdk;

import java.util.Locale;

/**
 * What went wrong in an SPDK call, decided from the error code <em>and</em> the message: the same
 * fault comes back as {@code -errno} when a synchronous check catches it and as -32602/-32603 with
 * the strerror text when an asynchronous completion reports it (spdk-rpc.md §2).
 */
public enum SpdkErrorKind {
    /** The bdev, lvstore, lvol or controller named does not exist (-19, -2, "No such device"). */
    NOT_FOUND("check the name, or whether spdk_tgt was restarted without its saved configuration"),
    /** Something of that name exists already (-17, -114, "File exists"). */
    EXISTS("choose another name, or use or remove the existing object"),
    /** The lvstore or device has no room (-28, "No space left on device"). */
    NO_SPACE("free space by destroying volumes or snapshots, or use a larger device"),
    /** Refused: the bdev is claimed by another module, or a snapshot still has clones (-1/EPERM). */
    NOT_PERMITTED("the object is in use (for example a bdev claimed by an lvstore); release it first"),
    /** SPDK rejected the parameters ("Invalid argument", -22, -32602, decode failures). */
    INVALID_ARGUMENT("this is a bug in spdk-sr or a version mismatch with spdk_tgt; report it with the log"),
    /** No spdk_tgt answers on the socket, it closed the connection, or it is not initialised. */
    NOT_RUNNING("start it (systemctl start spdk-sr-tgt) and check its journal (journalctl -u spdk-sr-tgt)"),
    /** No reply within the call's time limit. */
    TIMEOUT("spdk_tgt may be overloaded or hung; check journalctl -u spdk-sr-tgt and retry"),
    /** Anything else, e.g. a method this spdk_tgt lacks (-32601). */
    OTHER("check journalctl -u spdk-sr-tgt for details");

    private final String advice;

    SpdkErrorKind(String advice) {
        this.advice = advice;
    }

    /** What an administrator can do about it. */
    public String advice() {
        return advice;
    }

    /**
     * Classifies an error object of a reply. The message is looked at first because -32602 and
     * -32603 carry strerror text for async failures; the code decides only when the text is not
     * one we know (spdk-rpc.md §2, "rule of thumb").
     */
    public static SpdkErrorKind classify(int code, String message) {
        String text = message == null ? "" : message.toLowerCase(Locale.ROOT);
        if (text.contains("no such device") || text.contains("no such file or directory")
                || text.contains("not found") && code != -32601) {
            return NOT_FOUND;
        }
        if (text.contains("file exists") || text.contains("already exists")) {
            return EXISTS;
        }
        if (text.contains("no space left")) {
            return NO_SPACE;
        }
        if (text.contains("operation not permitted")) {
            return NOT_PERMITTED;
        }
        if (text.contains("framework is initialized") || text.contains("framework_start_init")) {
            // -1 doubles as the "invalid state" code (§2): the app is up but not initialised.
            return NOT_RUNNING;
        }
        if (text.contains("invalid argument") || text.contains("invalid parameters")
                || text.contains("decode") || text.contains("requires no parameters")) {
            return INVALID_ARGUMENT;
        }
        return switch (code) {
            case -19, -2 -> NOT_FOUND;
            case -17, -114 -> EXISTS;
            case -28 -> NO_SPACE;
            case -1, -16 -> NOT_PERMITTED;
            case -22, -32602, -32600, -32700 -> INVALID_ARGUMENT;
            default -> OTHER;
        };
    }
}
