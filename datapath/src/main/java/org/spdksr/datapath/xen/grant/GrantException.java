package org.spdksr.datapath.xen.grant;

import java.io.IOException;

/** A grant map was refused; carries the GNTST code Xen gave (blkif.md §2.1). */
public final class GrantException extends IOException {
    private static final long serialVersionUID = 1L;

    private final GrantStatus status;
    private final transient GrantRef ref;

    public GrantException(GrantStatus status, GrantRef ref, String detail) {
        super("mapping " + ref + " failed: GNTST " + status.code() + " " + status.meaning()
                + (detail == null || detail.isEmpty() ? "" : "; " + detail));
        this.status = status;
        this.ref = ref;
    }

    public GrantStatus status() {
        return status;
    }

    public GrantRef ref() {
        return ref;
    }
}
