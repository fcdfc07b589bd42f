package org.spdksr.datapath.vhost;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One virtio-blk request as it goes on a virtqueue (virtio 1.2 §5.2.6): the header fields, the
 * data (already in the shared region) and the future that gets the status byte. Discard and
 * write-zeroes carry their segments, which the queue writes into its scratch area.
 *
 * @param type VIRTIO_BLK_T_* constant
 * @param sector first 512-byte sector (0 for FLUSH and GET_ID)
 * @param dataOffset region offset of the data, or -1 if none
 * @param dataLength data bytes
 * @param segments discard/write-zeroes ranges, empty otherwise
 * @param status completed with the status byte, or exceptionally if the request never completed
 */
record BlkRequest(int type, long sector, long dataOffset, int dataLength, List<Segment> segments,
        CompletableFuture<Integer> status) {

    static final int T_IN = 0;
    static final int T_OUT = 1;
    static final int T_FLUSH = 4;
    static final int T_GET_ID = 8;
    static final int T_DISCARD = 11;
    static final int T_WRITE_ZEROES = 13;

    static final int S_OK = 0;
    static final int S_IOERR = 1;
    static final int S_UNSUPP = 2;

    /** Bytes of the device ID string returned by GET_ID (§5.2.6). */
    static final int ID_BYTES = 20;

    /** struct virtio_blk_discard_write_zeroes: sector, num_sectors, flags (bit 0: unmap). */
    record Segment(long sector, int numSectors, boolean unmap) {
    }

    BlkRequest {
        segments = List.copyOf(segments);
    }

    static BlkRequest data(int type, long sector, long dataOffset, int dataLength) {
        return new BlkRequest(type, sector, dataOffset, dataLength, List.of(), new CompletableFuture<>());
    }

    static BlkRequest ranges(int type, List<Segment> segments) {
        return new BlkRequest(type, 0, -1, 0, segments, new CompletableFuture<>());
    }

    /** True when the device writes the data buffer (IN, GET_ID), false when it reads it. */
    boolean deviceWritesData() {
        return type == T_IN || type == T_GET_ID;
    }

    static String typeName(int type) {
        return switch (type) {
            case T_IN -> "read";
            case T_OUT -> "write";
            case T_FLUSH -> "flush";
            case T_GET_ID -> "get-id";
            case T_DISCARD -> "discard";
            case T_WRITE_ZEROES -> "write-zeroes";
            default -> "request type " + type;
        };
    }
}
