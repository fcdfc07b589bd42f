package org.spdksr.datapath.vhost;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Request buffers inside the shared region: handed to callers ({@link VhostBlockDevice#allocate})
 * so their data is already where the back end can read it, and used as bounce buffers for
 * ordinary buffers. When the region is full, bounce allocations wait (FIFO) for a free.
 */
final class RegionBuffers {
    private final SharedRegion region;
    private final RegionAllocator allocator;
    private final Map<Long, Integer> handedOut = new ConcurrentHashMap<>();
    private final ArrayDeque<Waiter> waiters = new ArrayDeque<>();
    private final LongAdder waits = new LongAdder();

    private record Waiter(int bytes, CompletableFuture<Long> offset) {
    }

    RegionBuffers(SharedRegion region, long start, long bytes) {
        this.region = region;
        this.allocator = new RegionAllocator(start, bytes);
    }

    long capacityBytes() {
        return allocator.capacityBytes();
    }

    int freePages() {
        return allocator.freePages();
    }

    /** A region-backed buffer of exactly {@code bytes}, or null if the region has no room now. */
    ByteBuffer allocate(int bytes) {
        long offset;
        synchronized (waiters) {
            // Waiting bounce requests go first, so a stream of callers cannot starve them.
            offset = waiters.isEmpty() ? allocator.allocate(bytes) : -1;
        }
        if (offset < 0) {
            return null;
        }
        handedOut.put(offset, bytes);
        return view(offset, bytes);
    }

    /**
     * A region-backed buffer of exactly {@code bytes}, now or once enough is freed, in turn with
     * bounce allocations; release it with {@link #free}. Fails only when the device closes.
     */
    CompletableFuture<ByteBuffer> allocateWhenFree(int bytes) {
        return allocateAsync(bytes).thenApply(offset -> {
            handedOut.put(offset, bytes);
            return view(offset, bytes);
        });
    }

    /** Bytes of buffers handed out and not freed yet. */
    long lentBytes() {
        long sum = 0;
        for (int bytes : handedOut.values()) {
            sum += bytes;
        }
        return sum;
    }

    /** Allocations that found the region full and waited for room. */
    long waits() {
        return waits.sum();
    }

    /** Bytes not allocated right now (waiters are served as soon as a run of this fits them). */
    long freeBytes() {
        return (long) allocator.freePages() * RegionAllocator.PAGE;
    }

    /** Releases a buffer from {@link #allocate}; false if {@code buffer} is not a region buffer. */
    boolean free(ByteBuffer buffer) {
        if (!buffer.isDirect()) {
            return false;
        }
        // The buffer's own start, whatever its position: callers may have moved it.
        long address = Pointer.nativeValue(Native.getDirectBufferPointer(buffer));
        if (!region.contains(address, buffer.capacity())) {
            return false;
        }
        long offset = address - region.address();
        Integer bytes = handedOut.remove(offset);
        if (bytes == null) {
            throw new IllegalArgumentException("buffer at region offset " + offset
                    + " was not handed out by allocate() or was already freed");
        }
        release(offset, bytes);
        return true;
    }

    /** Region bytes for a bounce buffer, now or once enough is freed. */
    CompletableFuture<Long> allocateAsync(int bytes) {
        synchronized (waiters) {
            long offset = waiters.isEmpty() ? allocator.allocate(bytes) : -1;
            if (offset >= 0) {
                return CompletableFuture.completedFuture(offset);
            }
            Waiter w = new Waiter(bytes, new CompletableFuture<>());
            waiters.addLast(w);
            waits.increment();
            return w.offset();
        }
    }

    void release(long offset, int bytes) {
        List<Waiter> served = new ArrayList<>();
        List<Long> offsets = new ArrayList<>();
        synchronized (waiters) {
            allocator.free(offset, bytes);
            while (!waiters.isEmpty()) {
                long o = allocator.allocate(waiters.peekFirst().bytes());
                if (o < 0) {
                    break;
                }
                served.add(waiters.pollFirst());
                offsets.add(o);
            }
        }
        // Outside the lock: completing runs the waiter's submission.
        for (int i = 0; i < served.size(); i++) {
            served.get(i).offset().complete(offsets.get(i));
        }
    }

    /** A direct buffer over {@code [offset, offset + bytes)} of the region. */
    ByteBuffer view(long offset, int bytes) {
        return region.buffer().duplicate().clear().position((int) offset).limit((int) (offset + bytes)).slice();
    }

    /**
     * Region offset of {@code buffer}'s byte at {@code position() + at}, or -1 if its remaining
     * bytes are not all inside the region (heap buffers, other direct buffers).
     */
    long regionOffset(ByteBuffer buffer, int at) {
        if (!buffer.isDirect()) {
            return -1;
        }
        Pointer p = Native.getDirectBufferPointer(buffer);
        if (p == null) {
            return -1;
        }
        long address = Pointer.nativeValue(p) + buffer.position() + at;
        return region.contains(address, buffer.remaining() - at) ? address - region.address() : -1;
    }

    /** Fails every waiter (device closing). */
    void failWaiters(Throwable cause) {
        List<Waiter> failed;
        synchronized (waiters) {
            failed = new ArrayList<>(waiters);
            waiters.clear();
        }
        failed.forEach(w -> w.offset().completeExceptionally(cause));
    }
}
