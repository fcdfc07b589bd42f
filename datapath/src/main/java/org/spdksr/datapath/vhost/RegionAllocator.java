package org.spdksr.datapath.vhost;

import java.util.BitSet;

/**
 * Hands out runs of 4 KiB pages from the data part of the shared region: request buffers live
 * there so the back end can reach them. First fit from a moving hint over a bitmap; page
 * granularity keeps every buffer 4 KiB aligned, which O_DIRECT back ends (qemu with
 * {@code cache.direct=on}, SPDK's NVMe driver) like. Thread-safe.
 */
final class RegionAllocator {
    static final int PAGE = 4096;

    private final long start;
    private final int pages;
    private final BitSet used;
    private int hint;
    private int free;

    /** Manages {@code [start, start + bytes)}, offsets into the region; {@code start} page-aligned. */
    RegionAllocator(long start, long bytes) {
        if (start % PAGE != 0) {
            throw new IllegalArgumentException("allocator start " + start + " is not page-aligned");
        }
        this.start = start;
        this.pages = (int) (bytes / PAGE);
        this.used = new BitSet(pages);
        this.free = pages;
    }

    long capacityBytes() {
        return (long) pages * PAGE;
    }

    /** Offset of {@code bytes} (rounded up to pages) of free space, or -1 if no run is long enough right now. */
    synchronized long allocate(int bytes) {
        int n = pagesFor(bytes);
        if (n > free) {
            return -1;
        }
        int found = find(hint, pages, n);
        if (found < 0) {
            found = find(0, Math.min(pages, hint + n), n);
        }
        if (found < 0) {
            return -1;
        }
        used.set(found, found + n);
        free -= n;
        hint = found + n >= pages ? 0 : found + n;
        return start + (long) found * PAGE;
    }

    private int find(int from, int to, int n) {
        int i = used.nextClearBit(from);
        while (i + n <= to) {
            int next = used.nextSetBit(i);
            if (next < 0 || next >= i + n) {
                return i;
            }
            i = used.nextClearBit(next);
        }
        return -1;
    }

    synchronized void free(long offset, int bytes) {
        int first = (int) ((offset - start) / PAGE);
        int n = pagesFor(bytes);
        if (offset < start || (offset - start) % PAGE != 0 || first + n > pages || used.nextClearBit(first) < first + n) {
            throw new IllegalStateException("freeing region bytes [" + offset + ", +" + bytes + ") that were not allocated");
        }
        used.clear(first, first + n);
        free += n;
    }

    synchronized int freePages() {
        return free;
    }

    static int pagesFor(int bytes) {
        return Math.max(1, (bytes + PAGE - 1) / PAGE);
    }
}
