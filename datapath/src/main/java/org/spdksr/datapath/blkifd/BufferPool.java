package org.spdksr.datapath.blkifd;

import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Optional;

/**
 * The direct buffers for request data of one blkifd, shared by all its disks and queues, in
 * power-of-two size classes from one page to the largest request, kept for reuse so a busy queue
 * does not allocate per request. Grant copy needs direct buffers (the kernel reads and writes
 * them). Every byte held, lent or kept free, counts against one {@link BufferBudget}: a guest
 * cannot make blkifd run out of direct memory, which used to turn legal requests into errors
 * (issue 18).
 *
 * <p>When the budget is spent, {@link #tryTake} refuses and remembers who asked; the first of them
 * is woken whenever a buffer comes back, and waiters are served in order, so a large request is
 * not starved by small ones. Free buffers of other sizes are dropped to make room. Thread-safe:
 * queue workers take, completions give back from device threads.
 */
final class BufferPool {
    private static final int MIN_SHIFT = 12;

    private final Deque<ByteBuffer>[] free;
    private final int maxBytes;
    private final BufferBudget budget;
    /** Queues waiting for memory, each once, first come first served; each entry wakes its queue. */
    private final Deque<Runnable> waiters = new ArrayDeque<>();
    private long inUseBytes;
    private long pooledBytes;
    private long waits;

    @SuppressWarnings("unchecked")
    BufferPool(int maxBytes, BufferBudget budget) {
        int classes = shiftFor(maxBytes) - MIN_SHIFT + 1;
        this.free = new Deque[classes];
        for (int i = 0; i < classes; i++) {
            free[i] = new ArrayDeque<>();
        }
        this.maxBytes = maxBytes;
        this.budget = budget;
    }

    /** What a buffer of {@code bytes} costs the budget: its size class. */
    static long capacityFor(int bytes) {
        return 1L << shiftFor(bytes);
    }

    /**
     * A buffer with position 0 and limit {@code bytes}, or empty when the budget is spent (or
     * others wait before the caller); then {@code onReturn} runs once buffers came back, and the
     * caller asks again with the same {@code onReturn}, which stands for it in the queue.
     *
     * @throws IllegalStateException when the JVM has no direct memory left although the budget
     *     allows it and nothing will come back (the JVM's limit is below the budget)
     */
    Optional<ByteBuffer> tryTake(int bytes, Runnable onReturn) {
        if (bytes > maxBytes) {
            throw new IllegalArgumentException("a " + bytes + "-byte buffer is larger than the largest request ("
                    + maxBytes + " bytes); this is a bug in blkifd's request checks");
        }
        int sizeClass = shiftFor(bytes) - MIN_SHIFT;
        int capacity = 1 << (sizeClass + MIN_SHIFT);
        ByteBuffer buffer;
        Runnable next = null;
        synchronized (this) {
            if (!waiters.isEmpty() && waiters.peekFirst() != onReturn) {
                enqueue(onReturn);
                return Optional.empty();
            }
            buffer = free[sizeClass].pollFirst();
            if (buffer != null) {
                pooledBytes -= capacity;
            } else if (!reserve(capacity)) {
                enqueue(onReturn);
                return Optional.empty();
            }
            inUseBytes += capacity;
            if (waiters.peekFirst() == onReturn) {
                waiters.pollFirst();
                next = waiters.peekFirst(); // there may be room for the next one too
            }
        }
        if (buffer == null) {
            buffer = allocate(capacity, onReturn);
            if (buffer == null) {
                return Optional.empty();
            }
        }
        if (next != null) {
            next.run();
        }
        return Optional.of(buffer.clear().limit(bytes));
    }

    /** Takes a buffer back for reuse and wakes the first waiter. */
    void give(ByteBuffer buffer) {
        int capacity = buffer.capacity();
        int sizeClass = Integer.numberOfTrailingZeros(capacity) - MIN_SHIFT;
        Runnable first;
        synchronized (this) {
            inUseBytes -= capacity;
            free[sizeClass].addFirst(buffer);
            pooledBytes += capacity;
            first = waiters.peekFirst();
        }
        if (first != null) {
            first.run();
        }
    }

    /** Forgets a waiter whose queue stopped, so the ones behind it are not held up. */
    void withdraw(Runnable onReturn) {
        Runnable first;
        synchronized (this) {
            boolean wasFirst = waiters.peekFirst() == onReturn;
            waiters.removeFirstOccurrence(onReturn);
            first = wasFirst ? waiters.peekFirst() : null;
        }
        if (first != null) {
            first.run();
        }
    }

    synchronized BufferReport report() {
        return new BufferReport(budget.limitBytes(), inUseBytes, pooledBytes, budget.peakBytes(), waits);
    }

    /** Counts {@code capacity} as held, dropping free buffers (largest first) when that makes room. */
    private boolean reserve(int capacity) {
        while (!budget.tryReserve(capacity)) {
            if (pooledBytes == 0) {
                return false;
            }
            dropLargestFree();
        }
        return true;
    }

    /** A dropped buffer's memory goes back to the JVM when it is collected (it is unreachable now). */
    private void dropLargestFree() {
        for (int c = free.length - 1; c >= 0; c--) {
            if (free[c].pollFirst() != null) {
                long capacity = 1L << (c + MIN_SHIFT);
                pooledBytes -= capacity;
                budget.release(capacity);
                return;
            }
        }
    }

    /**
     * A new buffer, counted in use already. When the JVM refuses memory the budget allowed (its
     * limit is below the budget, or buffers dropped earlier are not collected yet), the free
     * buffers are dropped and the JVM asked once more (it collects before it gives up); then the
     * caller waits as for a spent budget, if buffers in use will come back.
     *
     * @return null when the caller is to wait
     * @throws IllegalStateException when nothing will come back, so waiting could last forever
     */
    private ByteBuffer allocate(int capacity, Runnable onReturn) {
        for (int attempt = 0; ; attempt++) {
            try {
                return ByteBuffer.allocateDirect(capacity);
            } catch (OutOfMemoryError e) {
                synchronized (this) {
                    if (attempt == 0 && pooledBytes > 0) {
                        while (pooledBytes > 0) {
                            dropLargestFree();
                        }
                        continue;
                    }
                    inUseBytes -= capacity;
                    budget.release(capacity);
                    if (inUseBytes == 0) {
                        throw new IllegalStateException("no direct memory for a " + capacity + "-byte request buffer"
                                + " although blkifd's buffer budget of " + budget.limitBytes() + " bytes allows it:"
                                + " the JVM's -XX:MaxDirectMemorySize is too small for " + BufferSettings.BUFFER_MIB
                                + " (raise it in SPDK_SR_BLKIFD_JAVA_OPTS or lower the budget in"
                                + " /etc/spdk-sr/spdk-sr.conf)", e);
                    }
                    if (!waiters.contains(onReturn)) {
                        waiters.addFirst(onReturn); // it was first, or alone
                        waits++;
                    }
                    return null;
                }
            }
        }
    }

    private void enqueue(Runnable onReturn) {
        if (!waiters.contains(onReturn)) {
            waiters.addLast(onReturn);
            waits++;
        }
    }

    private static int shiftFor(int bytes) {
        int shift = 32 - Integer.numberOfLeadingZeros(Math.max(bytes, 1) - 1);
        return Math.max(shift, MIN_SHIFT);
    }
}
