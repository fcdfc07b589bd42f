package org.spdksr.datapath.blkifd;

import org.spdksr.datapath.blkif.BlkifConstants;

/**
 * What blkifd offers every frontend (blkif.md §5.4).
 *
 * @param maxRingPageOrder up to 4 (16 pages, 512 slots), what Linux blkback and qemu offer
 * @param maxQueues multi-queue-max-queues; one worker thread per queue
 * @param maxIndirectSegments feature-max-indirect-segments; 256 = 1 MiB requests, like blkback
 */
public record BackendFeatures(int maxRingPageOrder, int maxQueues, int maxIndirectSegments) {
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
    }

    /** Order 4, one queue per CPU, 256 indirect segments. */
    public static BackendFeatures defaults() {
        return new BackendFeatures(BlkifConstants.MAX_RING_PAGE_ORDER, Runtime.getRuntime().availableProcessors(), 256);
    }
}
