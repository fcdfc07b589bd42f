package org.spdksr.datapath.blkif;

import static org.spdksr.datapath.blkif.BlkifConstants.*;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;

/**
 * The backend's side of one shared ring (blkif.md §1.1, §1.2, §1.8), over the mapped ring pages.
 * Indices are free-running u32 kept in Java ints and compared unsigned. Shared indices are read
 * with acquire and written with release semantics, with a full fence where a store must be
 * visible before a following load (the notification checks). Not thread-safe: one queue worker
 * owns a ring.
 */
public final class BackRing {
    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final int REQ_PROD = 0;
    private static final int REQ_EVENT = 4;
    private static final int RSP_PROD = 8;
    private static final int RSP_EVENT = 12;

    private final ByteBuffer shared;
    private final Abi abi;
    private final int entries;
    private int reqCons;
    private int rspProdPvt;

    /**
     * Attaches to a ring the frontend initialised. Like Linux blkback it starts from the
     * published {@code rsp_prod} so it can take over a live ring, and refuses a ring whose
     * producer is already more than a ring ahead.
     */
    public BackRing(ByteBuffer shared, Abi abi, int order) throws RingBrokenException {
        if (order < 0 || order > MAX_RING_PAGE_ORDER) {
            throw new IllegalArgumentException("ring page order " + order + " outside 0.." + MAX_RING_PAGE_ORDER);
        }
        if (!shared.isDirect() || shared.capacity() < (PAGE_SIZE << order)) {
            throw new IllegalArgumentException("the ring needs " + (1 << order) + " mapped pages");
        }
        this.shared = shared.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.abi = abi;
        this.entries = entries(abi, order);
        this.rspProdPvt = (int) INT.getAcquire(this.shared, RSP_PROD);
        this.reqCons = rspProdPvt;
        int reqProd = (int) INT.getAcquire(this.shared, REQ_PROD);
        if (Integer.compareUnsigned(reqProd - rspProdPvt, entries) > 0) {
            throw new RingBrokenException("frontend's ring has req_prod " + Integer.toUnsignedString(reqProd)
                    + " more than " + entries + " ahead of rsp_prod " + Integer.toUnsignedString(rspProdPvt));
        }
    }

    /**
     * Takes over a live ring from a backend process that died: responses continue at the published
     * {@code rsp_prod}, requests at {@code nextRequest}, which only the dead process knew (its ring
     * journal says).
     */
    public static BackRing takeOver(ByteBuffer shared, Abi abi, int order, int nextRequest) throws RingBrokenException {
        BackRing ring = new BackRing(shared, abi, order);
        if (Integer.compareUnsigned(nextRequest - ring.rspProdPvt, ring.entries) > 0) {
            throw new RingBrokenException("request index " + Integer.toUnsignedString(nextRequest)
                    + " to continue at is more than " + ring.entries + " ahead of rsp_prod "
                    + Integer.toUnsignedString(ring.rspProdPvt));
        }
        ring.reqCons = nextRequest;
        return ring;
    }

    /** The index of the next request {@link #consume} takes. */
    public int nextRequestIndex() {
        return reqCons;
    }

    /** The index the next {@link #putResponse} writes at. */
    public int nextResponseIndex() {
        return rspProdPvt;
    }

    /** Slots in a ring of {@code 1 << order} pages: the largest power of two that fits (§1.2). */
    public static int entries(Abi abi, int order) {
        int raw = ((PAGE_SIZE << order) - RING_HEADER_SIZE) / abi.slotSize();
        return Integer.highestOneBit(raw);
    }

    public int entries() {
        return entries;
    }

    public Abi abi() {
        return abi;
    }

    /**
     * Copies up to {@code max} new request slots into private arrays, each exactly once.
     *
     * @return how many were added to {@code into}
     * @throws RingBrokenException when the frontend's producer index is impossible
     */
    public int consume(List<byte[]> into, int max) throws RingBrokenException {
        int reqProd = (int) INT.getAcquire(shared, REQ_PROD);
        if (Integer.compareUnsigned(reqProd - rspProdPvt, entries) > 0) {
            throw new RingBrokenException("frontend provided bogus ring requests: req_prod "
                    + Integer.toUnsignedString(reqProd) + ", rsp_prod " + Integer.toUnsignedString(rspProdPvt)
                    + ", ring of " + entries);
        }
        int taken = 0;
        // The second condition is RING_REQUEST_CONS_OVERFLOW: never take more than the ring holds
        // unanswered, whatever req_prod says.
        while (taken < max && reqCons != reqProd && Integer.compareUnsigned(reqCons - rspProdPvt, entries) < 0) {
            byte[] copy = new byte[abi.slotSize()];
            shared.get(slotOffset(reqCons), copy);
            into.add(copy);
            reqCons++;
            taken++;
        }
        return taken;
    }

    /** Whether requests are waiting that {@link #consume} would take now. */
    public boolean hasUnconsumedRequests() {
        int reqProd = (int) INT.getAcquire(shared, REQ_PROD);
        long published = Integer.toUnsignedLong(reqProd - reqCons);
        long room = entries - Integer.toUnsignedLong(reqCons - rspProdPvt);
        return Math.min(published, room) > 0;
    }

    /**
     * RING_FINAL_CHECK_FOR_REQUESTS: before sleeping, ask for a notification at the next request,
     * then look once more, since the frontend may have published one meanwhile without notifying.
     *
     * @return true if there is work after all, so the caller must not sleep
     */
    public boolean finalCheckForRequests() {
        if (hasUnconsumedRequests()) {
            return true;
        }
        INT.setRelease(shared, REQ_EVENT, reqCons + 1);
        VarHandle.fullFence(); // the req_event store must be visible before req_prod is read again
        return hasUnconsumedRequests();
    }

    /** Writes a response into the next response slot (private until {@link #pushResponses}). */
    public void putResponse(long id, int operation, short status) {
        if (rspProdPvt == reqCons) {
            throw new IllegalStateException("more responses than consumed requests");
        }
        int at = slotOffset(rspProdPvt);
        shared.putLong(at, id);
        shared.put(at + 8, (byte) operation);
        shared.put(at + 9, (byte) 0);
        shared.putShort(at + 10, status);
        shared.putInt(at + 12, 0);
        rspProdPvt++;
    }

    /**
     * RING_PUSH_RESPONSES_AND_CHECK_NOTIFY: publishes the responses written so far.
     *
     * @return whether the frontend asked to be notified of them
     */
    public boolean pushResponses() {
        int old = (int) INT.getAcquire(shared, RSP_PROD);
        int now = rspProdPvt;
        if (old == now) {
            return false;
        }
        INT.setRelease(shared, RSP_PROD, now); // responses before the index that publishes them
        VarHandle.fullFence(); // the rsp_prod store before the rsp_event load
        int rspEvent = (int) INT.getAcquire(shared, RSP_EVENT);
        return Integer.compareUnsigned(now - rspEvent, now - old) < 0;
    }

    /** Requests taken but not yet answered. */
    public int inFlight() {
        return reqCons - rspProdPvt;
    }

    private int slotOffset(int index) {
        return RING_HEADER_SIZE + (index & (entries - 1)) * abi.slotSize();
    }
}
