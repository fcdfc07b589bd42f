package org.spdksr.datapath.vhost;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.spdksr.datapath.device.BlockDeviceException;
import org.spdksr.datapath.device.BlockDeviceException.Reason;

/**
 * virtio-blk on one virtqueue: turns a {@link BlkRequest} into a descriptor chain (header,
 * data segments, status byte: virtio 1.2 §5.2.6), kicks the back end, and on completion reads
 * the status byte. Requests that find no free descriptor, or arrive while the back end is away,
 * wait in a FIFO and go out as completions free room or the connection comes back.
 *
 * <p>Per-head scratch area: header (16 bytes) at 0, status byte at 16, discard/write-zeroes
 * segments (16 bytes each) from 32.
 */
final class BlkQueue {
    static final int SCRATCH_HEADER = 0;
    static final int SCRATCH_STATUS = 16;
    static final int SCRATCH_SEGMENTS = 32;
    /** Status value we write before submitting: a back end that completes without writing it is caught. */
    static final byte STATUS_UNSET = (byte) 0xff;

    private final int index;
    private final SplitVirtqueue vq;
    private final java.nio.ByteBuffer mem;
    private final int sizeMax;
    private final int maxDataBuffers;
    private final int maxSegments;
    private final EventFd kick;
    private final EventFd call;
    private final ArrayDeque<BlkRequest> waiting = new ArrayDeque<>();
    private final BlkRequest[] inFlight;
    private final LongAdder submitted;
    private boolean connected;
    private boolean closed;

    /**
     * @param sizeMax largest data descriptor (bytes)
     * @param maxDataBuffers most data descriptors per request (seg_max, ring and indirect table size)
     * @param maxSegments most scratch segments one discard/write-zeroes request may carry
     * @param submitted counts requests handed to the back end (shared by the device's queues)
     */
    BlkQueue(int index, SplitVirtqueue vq, java.nio.ByteBuffer mem, int sizeMax, int maxDataBuffers, int maxSegments,
            LongAdder submitted) {
        this.index = index;
        this.vq = vq;
        this.mem = mem;
        this.sizeMax = sizeMax;
        this.maxDataBuffers = maxDataBuffers;
        this.maxSegments = maxSegments;
        this.submitted = submitted;
        this.kick = new EventFd("kick of virtqueue " + index);
        this.call = new EventFd("call of virtqueue " + index);
        this.inFlight = new BlkRequest[vq.layout().size()];
    }

    int index() {
        return index;
    }

    SplitVirtqueue virtqueue() {
        return vq;
    }

    EventFd kickFd() {
        return kick;
    }

    EventFd callFd() {
        return call;
    }

    /** Queues {@code request}; sends it now if the ring has room and the back end is connected. */
    void submit(BlkRequest request) {
        boolean kickNow;
        synchronized (this) {
            if (closed) {
                request.status().completeExceptionally(new BlockDeviceException(Reason.CLOSED,
                        "virtqueue " + index + " is closed: the device was closed before the request was sent"));
                return;
            }
            waiting.addLast(request);
            kickNow = connected && pump();
        }
        if (kickNow) {
            kick.signal();
        }
    }

    /** Moves waiting requests onto the ring while there is room; true if the back end needs a kick. */
    private boolean pump() {
        short before = vq.availIdx();
        int added = 0;
        SplitVirtqueue.Buffer[] chain = new SplitVirtqueue.Buffer[Math.max(3, 2 + maxDataBuffers)];
        while (!waiting.isEmpty()) {
            BlkRequest r = waiting.peekFirst();
            int n = chain(r, chain);
            if (vq.cost(n) > vq.freeDescriptors()) {
                break;
            }
            int head = put(r, chain, n);
            waiting.pollFirst();
            inFlight[head] = r;
            submitted.increment();
            added++;
        }
        return added > 0 && vq.needsKick(before);
    }

    /**
     * Writes header, segments and status into the scratch area of the head the chain will get
     * (the first free descriptor, which {@link SplitVirtqueue#add} takes), then adds the chain.
     */
    private int put(BlkRequest r, SplitVirtqueue.Buffer[] chain, int n) {
        int head = vq.nextHead();
        long scratch = vq.scratch(head);
        mem.putInt((int) (scratch + SCRATCH_HEADER), r.type());
        mem.putInt((int) (scratch + SCRATCH_HEADER + 4), 0);
        mem.putLong((int) (scratch + SCRATCH_HEADER + 8), r.sector());
        mem.put((int) (scratch + SCRATCH_STATUS), STATUS_UNSET);
        chain[0] = new SplitVirtqueue.Buffer(scratch + SCRATCH_HEADER, 16, false);
        if (!r.segments().isEmpty()) {
            long at = scratch + SCRATCH_SEGMENTS;
            for (BlkRequest.Segment s : r.segments()) {
                mem.putLong((int) at, s.sector());
                mem.putInt((int) at + 8, s.numSectors());
                mem.putInt((int) at + 12, s.unmap() ? 1 : 0);
                at += 16;
            }
            chain[1] = new SplitVirtqueue.Buffer(scratch + SCRATCH_SEGMENTS, 16 * r.segments().size(), false);
        }
        chain[n - 1] = new SplitVirtqueue.Buffer(scratch + SCRATCH_STATUS, 1, true);
        int got = vq.add(chain, n);
        if (got != head) {
            throw new IllegalStateException("virtqueue " + index + " took head " + got + " instead of " + head);
        }
        return head;
    }

    /** Fills the data buffers of {@code r} into {@code chain} from index 1; returns the chain length. */
    private int chain(BlkRequest r, SplitVirtqueue.Buffer[] chain) {
        if (!r.segments().isEmpty()) {
            if (r.segments().size() > maxSegments) {
                throw new IllegalArgumentException(r.segments().size() + " segments in one request, at most " + maxSegments);
            }
            return 3;
        }
        int n = 1;
        if ((r.dataLength() + (long) sizeMax - 1) / sizeMax > maxDataBuffers) {
            throw new IllegalArgumentException(r.dataLength() + " bytes need more than " + maxDataBuffers + " segments of " + sizeMax);
        }
        for (int done = 0; done < r.dataLength(); ) {
            int len = Math.min(sizeMax, r.dataLength() - done);
            chain[n++] = new SplitVirtqueue.Buffer(r.dataOffset() + done, len, r.deviceWritesData());
            done += len;
        }
        return n + 1;
    }

    /**
     * Reaps the used ring: completes the finished requests (outside the lock, so callbacks may
     * submit again) and sends waiting ones into the freed room.
     */
    void reap() {
        call.drain();
        List<BlkRequest> done = new ArrayList<>();
        List<Integer> statuses = new ArrayList<>();
        boolean kickNow;
        synchronized (this) {
            vq.reap((head, written) -> {
                BlkRequest r = inFlight[head];
                inFlight[head] = null;
                done.add(r);
                statuses.add(Byte.toUnsignedInt(mem.get((int) (vq.scratch(head) + SCRATCH_STATUS))));
            });
            kickNow = connected && !waiting.isEmpty() && pump();
        }
        if (kickNow) {
            kick.signal();
        }
        for (int i = 0; i < done.size(); i++) {
            done.get(i).status().complete(statuses.get(i));
        }
    }

    /**
     * The back end went away: completes what it finished, puts every request still in flight
     * back at the front of the waiting list, and resets the ring for the next back end. Their
     * original order is not kept, and need not be: requests in flight together are unordered
     * (virtio 1.2 §5.2: the device services requests "probably out of order"; a driver orders
     * by waiting for completions).
     */
    void detach() {
        try {
            reap();
        } catch (IllegalStateException e) {
            // A back end that corrupted its used ring: resubmit everything instead.
        }
        synchronized (this) {
            connected = false;
            for (int h = inFlight.length - 1; h >= 0; h--) {
                if (inFlight[h] != null) {
                    waiting.addFirst(inFlight[h]);
                    inFlight[h] = null;
                }
            }
            vq.reset();
        }
    }

    /** The ring is registered with a (new) back end: send what waited. */
    void attach() {
        boolean kickNow;
        synchronized (this) {
            connected = true;
            kickNow = pump();
        }
        if (kickNow) {
            kick.signal();
        }
    }

    /** Fails every waiting request (after {@link #detach}, nothing is in flight). */
    void failWaiting(Throwable cause) {
        List<BlkRequest> failed;
        synchronized (this) {
            failed = new ArrayList<>(waiting);
            waiting.clear();
        }
        failed.forEach(r -> r.status().completeExceptionally(cause));
    }

    synchronized int outstanding() {
        int n = waiting.size();
        for (BlkRequest r : inFlight) {
            if (r != null) {
                n++;
            }
        }
        return n;
    }

    void close() {
        synchronized (this) {
            closed = true;
        }
        kick.close();
        call.close();
    }
}
