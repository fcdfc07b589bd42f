package org.spdksr.datapath.xen.xenstore;

/** One entry of a node's permission list, written {@code <letter><domid>} on the wire (blkif.md §4.2). */
public record XsPermission(int domid, XsAccess access) {

    public XsPermission {
        if (domid < 0 || domid > 0xffff) {
            throw new IllegalArgumentException("domid " + domid + " is outside 0..65535");
        }
    }

    public static XsPermission parse(String s) {
        if (s.length() < 2) {
            throw new IllegalArgumentException("xenstore permission '" + s + "' is too short (expected e.g. r5)");
        }
        try {
            return new XsPermission(Integer.parseInt(s.substring(1)), XsAccess.fromLetter(s.charAt(0)));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("xenstore permission '" + s + "' has no decimal domid", e);
        }
    }

    public String wire() {
        return access.letter() + Integer.toString(domid);
    }
}
