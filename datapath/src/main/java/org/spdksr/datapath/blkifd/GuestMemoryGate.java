package org.spdksr.datapath.blkifd;

import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Supplier;

/**
 * Whether a queue may still touch its frontend's memory: grant copies and copies to or from
 * persistently mapped pages all run through {@link #ifOpen}. {@link #close()} waits for the
 * touches in progress and lets no new one start, so once it returns nothing of the queue reads or
 * writes guest memory again (blkif.md §5.7: no grant is touched after the frontend closed) and the
 * queue's mappings can go while I/O is still in the device: that I/O keeps its own buffer and its
 * answer is dropped. A touch is one memory copy, so close waits microseconds, not for the device.
 */
final class GuestMemoryGate {
    private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
    private boolean open = true;

    /** Runs {@code touch} if the guest is still reachable, holding the gate open while it runs. */
    <T> T ifOpen(Supplier<T> touch, T whenClosed) {
        lock.readLock().lock();
        try {
            return open ? touch.get() : whenClosed;
        } finally {
            lock.readLock().unlock();
        }
    }

    boolean isOpen() {
        lock.readLock().lock();
        try {
            return open;
        } finally {
            lock.readLock().unlock();
        }
    }

    /** Waits for touches in progress; none starts afterwards. Idempotent. */
    void close() {
        lock.writeLock().lock();
        try {
            open = false;
        } finally {
            lock.writeLock().unlock();
        }
    }
}
