package org.spdksr.datapath.sim.blkfront;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.function.Consumer;
import org.spdksr.datapath.blkif.Abi;

/**
 * The frontend's side of one shared ring (blkif.md §1.1, §1.2, §1.8 seen from the other end).
 * Private state is {@code req_prod_pvt} and {@code rsp_cons}; shared indices are read with
 * acquire, written with release, and a full fence separates a store from a following load of
 * the other side's index (the notification checks), exactly as the backend's rules mirror them.
 * Not thread-safe: its queue serialises access. The hostile methods break the rules on purpose.
 */
public final class FrontRing {
    private static final VarHandle INT = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    public static final int HEADER_SIZE = 64;
    public static final int REQ_PROD = 0;
    public static final int REQ_EVENT = 4;
    public static final int RSP_PROD = 8;
    public static final int RSP_EVENT = 12;
    private static final int PAGE_SIZE = 4096;

    private final ByteBuffer shared;
    private final Abi abi;
    private final int entries;
    private int reqProdPvt;
    private int rspCons;

    private FrontRing(ByteBuffer shared, Abi abi, int order) {
        if (order < 0 || order > 8) {
            throw new IllegalArgumentException("ring page order " + order + " is unreasonable");
        }
        if (!shared.isDirect() || shared.capacity() < (PAGE_SIZE << order)) {
            throw new IllegalArgumentException("a ring of order " + order + " needs " + (1 << order)
                    + " pages of direct (shared) memory, got " + shared.capacity() + " bytes");
        }
        this.shared = shared.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        this.abi = abi;
        this.entries = entries(abi, order);
    }

    /**
     * SHARED_RING_INIT (§1.1): zero the header, both producers 0, both events 1; then the
     * frontend's private indices start at 0.
     */
    public static FrontRing initialise(ByteBuffer shared, Abi abi, int order) {
        FrontRing ring = new FrontRing(shared, abi, order);
        for (int i = 0; i < HEADER_SIZE; i += 4) {
            ring.shared.putInt(i, 0);
        }
        ring.shared.putInt(REQ_EVENT, 1);
        ring.shared.putInt(RSP_EVENT, 1);
        VarHandle.releaseFence(); // the initialised header before the grant that publishes it
        return ring;
    }

    /**
     * A ring initialised as if {@code start} requests had already come and gone: both producers
     * and both private indices at {@code start}. Lets tests cross the 2^32 wrap of the indices.
     */
    static FrontRing initialiseAt(ByteBuffer shared, Abi abi, int order, int start) {
        FrontRing ring = initialise(shared, abi, order);
        ring.shared.putInt(REQ_PROD, start);
        ring.shared.putInt(RSP_PROD, start);
        ring.shared.putInt(REQ_EVENT, start + 1);
        ring.shared.putInt(RSP_EVENT, start + 1);
        ring.reqProdPvt = start;
        ring.rspCons = start;
        VarHandle.releaseFence();
        return ring;
    }

    /** Slots in a ring of {@code 1 << order} pages (§1.2, __CONST_RING_SIZE). */
    public static int entries(Abi abi, int order) {
        return Integer.highestOneBit(((PAGE_SIZE << order) - HEADER_SIZE) / abi.slotSize());
    }

    public int entries() {
        return entries;
    }

    public Abi abi() {
        return abi;
    }

    public int reqProdPvt() {
        return reqProdPvt;
    }

    public int rspCons() {
        return rspCons;
    }

    /** Requests put in slots and not yet answered (RING_FREE_REQUESTS' complement). */
    public int outstanding() {
        return reqProdPvt - rspCons;
    }

    public int freeSlots() {
        return entries - outstanding();
    }

    /**
     * Copies a slot image into the next request slot; it stays private until {@link #pushRequests}.
     *
     * @return the ring index it was written at
     */
    public int putRequest(byte[] slot) {
        if (freeSlots() <= 0) {
            throw new IllegalStateException("ring full: " + outstanding() + " of " + entries + " slots unanswered");
        }
        int index = reqProdPvt;
        writeSlot(index, slot);
        reqProdPvt++;
        return index;
    }

    /**
     * RING_PUSH_REQUESTS_AND_CHECK_NOTIFY: publish {@code req_prod} after the slots (release),
     * then, after a full fence, decide from {@code req_event} whether the backend asked for a kick.
     */
    public boolean pushRequests() {
        int old = (int) INT.getAcquire(shared, REQ_PROD);
        int now = reqProdPvt;
        INT.setRelease(shared, REQ_PROD, now);
        VarHandle.fullFence(); // the req_prod store before the req_event load
        int reqEvent = (int) INT.getAcquire(shared, REQ_EVENT);
        return Integer.compareUnsigned(now - reqEvent, now - old) < 0;
    }

    /**
     * Takes every published response: {@code rsp_prod} with acquire, each slot read once, then
     * {@code rsp_cons} advanced. A backend producing more responses than requests breaks the ring
     * (Linux blkfront: "illegal number of responses").
     *
     * @return how many were taken
     */
    public int consumeResponses(Consumer<Response> into) throws BackendMisbehavedException {
        int rp = (int) INT.getAcquire(shared, RSP_PROD);
        if (Integer.compareUnsigned(rp - rspCons, reqProdPvt - rspCons) > 0) {
            throw new BackendMisbehavedException("backend published rsp_prod " + Integer.toUnsignedString(rp)
                    + " but only " + outstanding() + " requests after rsp_cons " + Integer.toUnsignedString(rspCons)
                    + " were outstanding");
        }
        int taken = 0;
        while (rspCons != rp) {
            int at = slotOffset(rspCons);
            into.accept(new Response(shared.getLong(at), shared.get(at + 8) & 0xff, shared.getShort(at + 10), null));
            rspCons++;
            taken++;
        }
        return taken;
    }

    public boolean hasUnconsumedResponses() {
        return (int) INT.getAcquire(shared, RSP_PROD) != rspCons;
    }

    /**
     * RING_FINAL_CHECK_FOR_RESPONSES: before waiting for an event, ask for one at the next
     * response, then look again, since the backend may have pushed meanwhile without notifying.
     *
     * @return true when responses are there after all
     */
    public boolean finalCheckForResponses() {
        if (hasUnconsumedResponses()) {
            return true;
        }
        INT.setRelease(shared, RSP_EVENT, rspCons + 1);
        VarHandle.fullFence(); // the rsp_event store before the rsp_prod load
        return hasUnconsumedResponses();
    }

    // ---- raw access, for tests and the hostile frontend ------------------------------------

    /** Writes slot bytes at ring index {@code index} (masked), whether or not it was published. */
    public void writeSlot(int index, byte[] slot) {
        if (slot.length > abi.slotSize()) {
            throw new IllegalArgumentException("slot image of " + slot.length + " bytes for a " + abi.slotSize()
                    + "-byte " + abi + " slot");
        }
        int at = slotOffset(index);
        shared.put(at, slot);
        for (int i = slot.length; i < abi.slotSize(); i++) {
            shared.put(at + i, (byte) 0);
        }
    }

    /** Publishes an arbitrary {@code req_prod}, leaving the private index alone. */
    public void setSharedReqProd(int value) {
        INT.setRelease(shared, REQ_PROD, value);
        VarHandle.fullFence();
    }

    /** Moves the private producer (used with {@link #setSharedReqProd} to keep both in step). */
    public void setReqProdPvt(int value) {
        reqProdPvt = value;
    }

    public int sharedReqProd() {
        return (int) INT.getAcquire(shared, REQ_PROD);
    }

    public int sharedReqEvent() {
        return (int) INT.getAcquire(shared, REQ_EVENT);
    }

    public int sharedRspProd() {
        return (int) INT.getAcquire(shared, RSP_PROD);
    }

    public int sharedRspEvent() {
        return (int) INT.getAcquire(shared, RSP_EVENT);
    }

    public void setSharedRspEvent(int value) {
        INT.setRelease(shared, RSP_EVENT, value);
        VarHandle.fullFence();
    }

    private int slotOffset(int index) {
        return HEADER_SIZE + (index & (entries - 1)) * abi.slotSize();
    }
}
