package org.spdksr.datapath.blkifd;

import org.spdksr.datapath.blkif.BlkifConstants;

/**
 * What blkifd offers every frontend (blkif.md §5.4).
 *
 * @param maxRingPageOrder up to 4 (16 pages, 512 slots), what Linux blkback and qemu offer
 * @param maxQueues multi-queue-max-queues; one worker thread per queue
 * @param maxIndirectSegments feature-max-indirect-segments; 256 = 1 MiB requests, like blkback
 * @param persistentGrantsPerQueue mapped grants kept per queue; 0 turns feature-persistent off
 */
public record BackendFeatures(int maxRingPageOrder, int maxQueues, int maxIndirectSegments, int persistentGrantsPerQueue) {
    public BackendFeatures {
        if (maxRingPageOrder < 0 || maxRingPageOrder > BlkifConstants.MAX_RING_PAGE_ORDER) {
            throw new IllegalArgumentException("max ring page order must be 0.." + BlkifConstants.MAX_RING_PAGE_ORDER);
        }
        if (maxQueues < 1) {
            throw new IllegalArgumentException("at least one queue");
        }
        if (maxIndirectSegments < 0
                || maxIndirectSegments > BlkifConstants.MAX_INDIRECT_PAGES * BlkifConstants.SEGMENTS_PER_INDIRECT_PAGE) {
            throw new IllegalArgumentException("max indirect segments out of range");
        }
        if (persistentGrantsPerQueue < 0) {
            throw new IllegalArgumentException("negative persistent grant count");
        }
    }

    /** Order 4, one queue per CPU, 256 indirect segments, blkback's 1056 persistent grants per queue. */
    public static BackendFeatures defaults() {
        return new BackendFeatures(BlkifConstants.MAX_RING_PAGE_ORDER, Runtime.getRuntime().availableProcessors(), 256,
                1056);
    }
}
