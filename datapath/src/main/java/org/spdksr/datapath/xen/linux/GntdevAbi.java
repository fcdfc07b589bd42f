package org.spdksr.datapath.xen.linux;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.spdksr.datapath.xen.grant.GrantRef;

/**
 * Request numbers and struct layouts of {@code /dev/xen/gntdev} on x86_64, exactly as blkif.md
 * §2/§2.1 lists them. Structs are built in little-endian direct buffers so tests can check every
 * offset without a Xen host.
 */
public final class GntdevAbi {
    private GntdevAbi() {
    }

    public static final int IOCTL_MAP_GRANT_REF = Ioctl.none('G', 0, 24);
    public static final int IOCTL_UNMAP_GRANT_REF = Ioctl.none('G', 1, 16);
    public static final int IOCTL_GET_OFFSET_FOR_VADDR = Ioctl.none('G', 2, 24);
    public static final int IOCTL_SET_MAX_GRANTS = Ioctl.none('G', 3, 4);
    public static final int IOCTL_SET_UNMAP_NOTIFY = Ioctl.none('G', 7, 16);
    public static final int IOCTL_GRANT_COPY = Ioctl.none('G', 8, 16);

    /** {@code struct ioctl_gntdev_grant_ref}: domid u32 @0, ref u32 @4. */
    public static final int GRANT_REF_SIZE = 8;
    public static final int GRANT_REF_DOMID = 0;
    public static final int GRANT_REF_REF = 4;

    /** {@code struct ioctl_gntdev_map_grant_ref}: 24 bytes with one ref, +8 per extra ref. */
    public static final int MAP_SIZE_ONE_REF = 24;
    public static final int MAP_COUNT = 0;
    public static final int MAP_INDEX = 8;
    public static final int MAP_REFS = 16;

    /** {@code struct ioctl_gntdev_unmap_grant_ref}: index u64 @0, count u32 @8, pad @12. */
    public static final int UNMAP_SIZE = 16;
    public static final int UNMAP_INDEX = 0;
    public static final int UNMAP_COUNT = 8;

    /** {@code struct ioctl_gntdev_grant_copy}: count u32 @0, pad @4, segments pointer @8. */
    public static final int COPY_SIZE = 16;
    public static final int COPY_COUNT = 0;
    public static final int COPY_SEGMENTS = 8;

    /** {@code struct gntdev_grant_copy_segment}, 24 bytes. */
    public static final int SEG_SIZE = 24;
    public static final int SEG_SOURCE = 0;
    public static final int SEG_DEST = 8;
    public static final int SEG_LEN = 16;
    public static final int SEG_FLAGS = 18;
    public static final int SEG_STATUS = 20;
    /** Inside the source/dest union when it names a grant: ref u32 @0, offset u16 @4, domid u16 @6. */
    public static final int FOREIGN_REF = 0;
    public static final int FOREIGN_OFFSET = 4;
    public static final int FOREIGN_DOMID = 6;
    public static final int GNTCOPY_SOURCE_GREF = 0x1;
    public static final int GNTCOPY_DEST_GREF = 0x2;

    private static ByteBuffer direct(int size) {
        return ByteBuffer.allocateDirect(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    /** A MAP_GRANT_REF argument for {@code refs}; one request maps them all (blkif.md §2.2 step 4). */
    public static ByteBuffer mapRequest(List<GrantRef> refs) {
        ByteBuffer b = direct(Math.max(MAP_SIZE_ONE_REF, MAP_REFS + GRANT_REF_SIZE * refs.size()));
        b.putInt(MAP_COUNT, refs.size());
        for (int i = 0; i < refs.size(); i++) {
            int at = MAP_REFS + i * GRANT_REF_SIZE;
            b.putInt(at + GRANT_REF_DOMID, refs.get(i).domid());
            b.putInt(at + GRANT_REF_REF, refs.get(i).ref());
        }
        return b;
    }

    /** The mmap offset the driver returned in {@code index} (blkif.md §2.2 step 1). */
    public static long mapIndex(ByteBuffer mapRequest) {
        return mapRequest.getLong(MAP_INDEX);
    }

    public static ByteBuffer unmapRequest(long index, int count) {
        ByteBuffer b = direct(UNMAP_SIZE);
        b.putLong(UNMAP_INDEX, index);
        b.putInt(UNMAP_COUNT, count);
        return b;
    }

    public static ByteBuffer copyRequest(int count, long segmentsAddress) {
        ByteBuffer b = direct(COPY_SIZE);
        b.putInt(COPY_COUNT, count);
        b.putLong(COPY_SEGMENTS, segmentsAddress);
        return b;
    }

    /** Writes the union of one copy side: a grant (ref, offset, domid) packed in 8 bytes. */
    public static void putForeign(ByteBuffer segs, int at, GrantRef ref, int offset) {
        segs.putInt(at + FOREIGN_REF, ref.ref());
        segs.putShort(at + FOREIGN_OFFSET, (short) offset);
        segs.putShort(at + FOREIGN_DOMID, (short) ref.domid());
    }

    public static ByteBuffer segments(int count) {
        return direct(SEG_SIZE * count);
    }
}
