package org.spdksr.datapath.xen.sim.grant;

/** One v1 grant entry as the guest wrote it: flags, the domain allowed to use it, the frame. */
public record GrantEntry(int flags, int domid, int frame) {
    /** GTF_permit_access in the two type bits. */
    public static final int GTF_PERMIT_ACCESS = 1;
    public static final int GTF_TYPE_MASK = 3;
    public static final int GTF_READONLY = 1 << 2;

    public boolean permitsAccess() {
        return (flags & GTF_TYPE_MASK) == GTF_PERMIT_ACCESS;
    }

    public boolean readOnly() {
        return (flags & GTF_READONLY) != 0;
    }
}
