package org.spdksr.datapath.vhost;

import org.spdksr.datapath.vhost.VhostHandshake.Negotiated;

/**
 * The sizes a {@link VhostBlockDevice} works with, derived once from what the back end
 * negotiated (virtio 1.2 §5.2.4: blk_size, size_max, seg_max, the discard and write-zeroes
 * segment limits) and the device's own caps.
 *
 * @param maxDataBuffers data descriptors per request (without header and status)
 * @param indirectEntries entries of each request's indirect table; 0 without indirect descriptors
 * @param maxTransfer largest data size of one request, in whole blocks
 * @param rangeSegments discard or write-zeroes segments per request
 * @param scratchBytes per-head scratch area: header, status and range segments
 */
record DeviceGeometry(int blockSize, int sizeMax, int maxDataBuffers, int indirectEntries, int maxTransfer,
        int rangeSegments, int scratchBytes) {
    static final int SECTOR = 512;
    /** Cap on one request's data: bounds a bounce buffer and a request's share of the region. */
    static final int MAX_TRANSFER = 1 << 20;
    /** Cap on data descriptors per request (indirect table entries minus header and status). */
    static final int MAX_DATA_BUFFERS = 126;
    static final int MAX_RANGE_SEGMENTS = 16;

    static DeviceGeometry of(Negotiated n, VhostDeviceOptions o) {
        VirtioBlkConfig c = n.config();
        int blockSize = n.has(VirtioFeatures.BLK_F_BLK_SIZE) && c.blkSize() >= SECTOR && Integer.bitCount(c.blkSize()) == 1
                ? c.blkSize() : SECTOR;
        int sizeMax = n.has(VirtioFeatures.BLK_F_SIZE_MAX) && c.sizeMax() >= 4096 ? c.sizeMax() : MAX_TRANSFER;
        int maxData = n.has(VirtioFeatures.BLK_F_SEG_MAX) && c.segMax() > 0 ? Math.min(c.segMax(), MAX_DATA_BUFFERS)
                : MAX_DATA_BUFFERS;
        boolean indirect = n.has(VirtioFeatures.RING_F_INDIRECT_DESC);
        if (!indirect) {
            maxData = Math.min(maxData, o.ringSize() - 2);
        }
        maxData = Math.max(1, maxData);
        long transfer = Math.min((long) maxData * sizeMax, MAX_TRANSFER);
        int maxTransfer = (int) Math.max(blockSize, transfer / blockSize * blockSize);
        int segs = Math.max(Math.max(c.maxDiscardSeg(), c.maxWriteZeroesSeg()), 1);
        int rangeSegments = Math.min(segs, MAX_RANGE_SEGMENTS);
        int scratch = (BlkQueue.SCRATCH_SEGMENTS + 16 * rangeSegments + 63) & ~63;
        return new DeviceGeometry(blockSize, sizeMax, maxData, indirect ? maxData + 2 : 0, maxTransfer, rangeSegments, scratch);
    }
}
