package org.spdksr.datapath.xen.xenstore;

/** Error names a xenstore server replies with (blkif.md §4.2, xsd_errors). */
public enum XsError {
    EINVAL("invalid argument or path"),
    EACCES("permission denied by the node's permissions"),
    EEXIST("already exists"),
    EISDIR("is a directory"),
    ENOENT("no such node or transaction"),
    ENOMEM("server out of memory"),
    ENOSPC("no space"),
    EIO("server I/O error"),
    ENOTEMPTY("directory not empty"),
    ENOSYS("operation not supported by this server"),
    EROFS("read-only"),
    EBUSY("busy"),
    EAGAIN("transaction conflicted; redo it"),
    EISCONN("already connected"),
    E2BIG("message too large"),
    EPERM("operation not permitted"),
    UNKNOWN("");

    private final String meaning;

    XsError(String meaning) {
        this.meaning = meaning;
    }

    public String meaning() {
        return meaning;
    }

    /** Unknown names map to UNKNOWN: oxenstored may send names outside the list (blkif.md §4.2). */
    public static XsError fromName(String name) {
        for (XsError e : values()) {
            if (e != UNKNOWN && e.name().equals(name)) {
                return e;
            }
        }
        return UNKNOWN;
    }
}
