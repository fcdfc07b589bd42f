package org.spdksr.datapath.xen.grant;

/**
 * One grant-copy segment. The rules of gntdev (blkif.md §2.1) are checked here, before any
 * ioctl: at least one side is a grant, and a grant side stays inside its page.
 */
public record CopySegment(CopyEndpoint source, CopyEndpoint dest, int length) {
    public CopySegment {
        if (source instanceof CopyEndpoint.Local && dest instanceof CopyEndpoint.Local) {
            throw new IllegalArgumentException("grant copy needs a grant on at least one side (local to local is EINVAL)");
        }
        if (length <= 0 || length > GrantMapping.PAGE_SIZE) {
            throw new IllegalArgumentException("grant copy length " + length + " is outside 1..4096");
        }
        check(source, length, "source");
        check(dest, length, "dest");
    }

    private static void check(CopyEndpoint e, int length, String side) {
        if (e instanceof CopyEndpoint.Foreign f && f.offset() + length > GrantMapping.PAGE_SIZE) {
            throw new IllegalArgumentException(side + " " + f.ref() + ": offset " + f.offset() + " + length " + length
                    + " crosses the 4096-byte page");
        }
        if (e instanceof CopyEndpoint.Local l && l.offset() + length > l.buffer().capacity()) {
            throw new IllegalArgumentException(side + " local buffer of " + l.buffer().capacity()
                    + " bytes is too small for offset " + l.offset() + " + length " + length);
        }
    }

    public static CopySegment fromGrant(GrantRef ref, int pageOffset, java.nio.ByteBuffer to, int toOffset, int length) {
        return new CopySegment(new CopyEndpoint.Foreign(ref, pageOffset), new CopyEndpoint.Local(to, toOffset), length);
    }

    public static CopySegment toGrant(java.nio.ByteBuffer from, int fromOffset, GrantRef ref, int pageOffset, int length) {
        return new CopySegment(new CopyEndpoint.Local(from, fromOffset), new CopyEndpoint.Foreign(ref, pageOffset), length);
    }
}
