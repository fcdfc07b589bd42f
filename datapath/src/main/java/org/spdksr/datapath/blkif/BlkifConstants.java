package org.spdksr.datapath.blkif;

/** Operation and status numbers of the ring protocol (blkif.md §1.3, §1.6, §1.7). */
public final class BlkifConstants {
    public static final int OP_READ = 0;
    public static final int OP_WRITE = 1;
    public static final int OP_WRITE_BARRIER = 2;
    public static final int OP_FLUSH_DISKCACHE = 3;
    public static final int OP_RESERVED_1 = 4;
    public static final int OP_DISCARD = 5;
    public static final int OP_INDIRECT = 6;

    public static final short RSP_OKAY = 0;
    public static final short RSP_ERROR = -1;
    public static final short RSP_EOPNOTSUPP = -2;

    public static final int SECTOR_SIZE = 512;
    public static final int PAGE_SIZE = 4096;
    public static final int SECTORS_PER_PAGE = PAGE_SIZE / SECTOR_SIZE;
    public static final int MAX_DIRECT_SEGMENTS = 11;
    public static final int MAX_INDIRECT_PAGES = 8;
    public static final int SEGMENT_SIZE = 8;
    public static final int SEGMENTS_PER_INDIRECT_PAGE = PAGE_SIZE / SEGMENT_SIZE;
    public static final int DISCARD_FLAG_SECURE = 0x01;
    public static final int MAX_RING_PAGE_ORDER = 4;

    /** Shared-ring header: four indices then padding to 64 bytes (blkif.md §1.1). */
    public static final int RING_HEADER_SIZE = 64;
    public static final int RSP_SIZE = 16;

    private BlkifConstants() {}
}
