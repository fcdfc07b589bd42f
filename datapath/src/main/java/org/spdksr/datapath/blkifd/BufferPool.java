package org.spdksr.datapath.blkifd;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Direct buffers for request data, in power-of-two size classes from one page to the largest
 * request, kept for reuse so a busy queue does not allocate per request. Grant copy needs direct
 * buffers (the kernel reads and writes them). Thread-safe: completions return buffers from device
 * threads.
 */
final class BufferPool {
    private static final int MIN_SHIFT = 12;

    private final Deque<ByteBuffer>[] free;
    private final int maxPerClass;

    @SuppressWarnings("unchecked")
    BufferPool(int maxBytes, int maxPerClass) {
        int classes = shiftFor(maxBytes) - MIN_SHIFT + 1;
        this.free = new Deque[classes];
        for (int i = 0; i < classes; i++) {
            free[i] = new ArrayDeque<>();
        }
        this.maxPerClass = maxPerClass;
    }

    /** A buffer with position 0 and limit {@code bytes}. */
    ByteBuffer take(int bytes) {
        int sizeClass = shiftFor(bytes) - MIN_SHIFT;
        ByteBuffer buffer;
        synchronized (free[sizeClass]) {
            buffer = free[sizeClass].pollFirst();
        }
        if (buffer == null) {
            buffer = ByteBuffer.allocateDirect(1 << (sizeClass + MIN_SHIFT));
        }
        return buffer.clear().limit(bytes);
    }

    void give(ByteBuffer buffer) {
        int sizeClass = Integer.numberOfTrailingZeros(buffer.capacity()) - MIN_SHIFT;
        synchronized (free[sizeClass]) {
            if (free[sizeClass].size() < maxPerClass) {
                free[sizeClass].addFirst(buffer);
            }
        }
    }

    private static int shiftFor(int bytes) {
        int shift = 32 - Integer.numberOfLeadingZeros(Math.max(bytes, 1) - 1);
        return Math.max(shift, MIN_SHIFT);
    }
}
