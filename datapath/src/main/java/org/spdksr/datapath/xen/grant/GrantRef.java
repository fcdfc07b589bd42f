package org.spdksr.datapath.xen.grant;

/** A grant reference offered by domain {@code domid} (blkif.md §2.1, {@code ioctl_gntdev_grant_ref}). */
public record GrantRef(int domid, int ref) {
    public GrantRef {
        if (domid < 0 || domid > 0xffff) {
            throw new IllegalArgumentException("domid " + domid + " is outside 0..65535");
        }
    }

    @Override
    public String toString() {
        return "gref " + Integer.toUnsignedString(ref) + " of domain " + domid;
    }
}
