package org.spdksr.datapath.xen.xenstore;

import java.io.IOException;

/**
 * A xenstore operation failed with an error name from the server (blkif.md §4.2, "Error strings"),
 * or was refused locally before sending (path or payload over the limits).
 */
public final class XenstoreException extends IOException {
    private static final long serialVersionUID = 1L;

    private final XsError error;
    private final String errorName;
    private final String operation;
    private final String path;

    public XenstoreException(String errorName, String operation, String path, String hint) {
        super(message(errorName, operation, path, hint));
        this.errorName = errorName;
        this.error = XsError.fromName(errorName);
        this.operation = operation;
        this.path = path;
    }

    private static String message(String errorName, String operation, String path, String hint) {
        StringBuilder sb = new StringBuilder("xenstore ").append(operation);
        if (path != null && !path.isEmpty()) {
            sb.append(' ').append(path);
        }
        sb.append(" failed: ").append(errorName);
        String meaning = XsError.fromName(errorName).meaning();
        if (!meaning.isEmpty()) {
            sb.append(" (").append(meaning).append(')');
        }
        if (hint != null && !hint.isEmpty()) {
            sb.append("; ").append(hint);
        }
        return sb.toString();
    }

    /** The error as a known value; {@link XsError#UNKNOWN} for names outside blkif.md's list (e.g. EQUOTA). */
    public XsError error() {
        return error;
    }

    /** The name exactly as the server sent it. */
    public String errorName() {
        return errorName;
    }

    public String operation() {
        return operation;
    }

    public String path() {
        return path;
    }
}
