package org.spdksr.datapath.sim.blkfront;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.spdksr.datapath.xen.sim.grant.SimGrantTable;

/**
 * Small primitives a robustness test composes into attacks on the backend (issue 4, "Hostile
 * guests"). Each one breaks exactly one rule of blkif.md and nothing else; the frontend's own
 * bookkeeping stays usable so the test can observe how the backend answered.
 */
public final class HostileFront {
    private final SimBlkfront front;

    HostileFront(SimBlkfront front) {
        this.front = front;
    }

    /** A request published on a ring: its ring index and its response. */
    public record Published(int index, long id, CompletableFuture<Response> response) {
    }

    // ---- ring ---------------------------------------------------------------------------------

    /** A fresh id, unique on {@code queue}. */
    public long newId(int queue) {
        return front.queue(queue).newId();
    }

    /** Encodes {@code request} with the frontend's ABI, as slot bytes to tamper with. */
    public byte[] encode(FrontRequest request) {
        return front.encoder().encode(request);
    }

    /**
     * Puts any request (including {@link FrontRequest.Raw} bytes) in the next slot, publishes it
     * and notifies when the backend asked for it. The response must echo
     * {@code request.operation()}. Fails when the ring has no free slot.
     */
    public Published publish(int queue, FrontRequest request) {
        byte[] slot = front.encoder().encode(request);
        long id = request instanceof FrontRequest.Raw ? front.encoder().idOf(slot) : request.id();
        FrontQueue.Placed placed = front.queue(queue).submitNow(slot, id, request.responseOperation());
        return new Published(placed.index(), id, placed.future());
    }

    /** Publishes slot bytes as they are; the id is read where the ABI puts it. */
    public Published publishRaw(int queue, byte[] slot) {
        return publish(queue, new FrontRequest.Raw(slot, front.encoder().idOf(slot)));
    }

    /** Rewrites slot {@code index} after publishing it: the double-fetch attack (§1.8, XSA-155). */
    public void rewriteSlot(int queue, int index, byte[] slot) {
        FrontQueue q = front.queue(queue);
        synchronized (q) {
            q.ring().writeSlot(index, slot);
        }
    }

    /** Writes slot bytes at the next free index without publishing them. */
    public int writeUnpublished(int queue, byte[] slot) {
        FrontQueue q = front.queue(queue);
        synchronized (q) {
            int index = q.ring().reqProdPvt();
            q.ring().writeSlot(index, slot);
            return index;
        }
    }

    /** Publishes an arbitrary {@code req_prod} (more than a ring ahead, behind, ...) and notifies. */
    public void setReqProd(int queue, int value) throws IOException {
        FrontQueue q = front.queue(queue);
        synchronized (q) {
            q.ring().setSharedReqProd(value);
        }
        notifyBackend(queue);
    }

    public int reqProd(int queue) {
        FrontQueue q = front.queue(queue);
        synchronized (q) {
            return q.ring().sharedReqProd();
        }
    }

    public int rspProd(int queue) {
        FrontQueue q = front.queue(queue);
        synchronized (q) {
            return q.ring().sharedRspProd();
        }
    }

    public int ringEntries() {
        return front.ringEntries();
    }

    public void notifyBackend(int queue) throws IOException {
        front.guest().notify(front.queue(queue).port());
    }

    // ---- grants -------------------------------------------------------------------------------

    /** A page holding {@code contents} (zero-padded), granted to {@code toDomid}. */
    public GrantedPage grantPage(byte[] contents, int toDomid, boolean readOnly) {
        GuestPages pages = front.guest().pages();
        int frame = pages.allocate(1);
        pages.page(frame).put(0, contents, 0, Math.min(contents.length, GuestPages.PAGE_SIZE));
        return new GrantedPage(frame, front.guest().domain().grant(frame, toDomid, readOnly));
    }

    /** A page granted to the backend ({@code readOnly} as asked), e.g. for a read the backend must fail. */
    public GrantedPage grantToBackend(byte[] contents, boolean readOnly) {
        return grantPage(contents, front.backendDomid(), readOnly);
    }

    /** An indirect descriptor page holding {@code segments} as given, granted read-only to the backend. */
    public GrantedPage indirectPage(List<SegmentDescriptor> segments) {
        GrantedPage p = grantToBackend(new byte[0], true);
        RequestEncoder.encodeDescriptors(segments, front.guest().pages().page(p.frame()), 0);
        return p;
    }

    /** Ends a grant, e.g. while a request using it is in flight. */
    public void revoke(int gref) {
        front.guest().domain().revoke(gref);
    }

    /** The current contents of a page (what the backend wrote into it). */
    public byte[] pageContents(GrantedPage page) {
        byte[] out = new byte[GuestPages.PAGE_SIZE];
        front.guest().pages().page(page.frame()).get(0, out);
        return out;
    }

    /** Revokes (if still granted) and frees a page made by this class. */
    public void release(GrantedPage page) {
        if (front.guest().domain().grantTable().entry(page.gref()).permitsAccess()) {
            revoke(page.gref());
        }
        front.guest().pages().free(page.frame(), 1);
    }

    /** A grant reference inside the table that is not in use. */
    public int unusedGrantRef() {
        SimGrantTable t = front.guest().domain().grantTable();
        for (int ref = t.size() - 1; ref >= SimGrantTable.FIRST_GUEST_REF; ref--) {
            if (!t.entry(ref).permitsAccess()) {
                return ref;
            }
        }
        throw new IllegalStateException("grant table of domain " + front.guest().domain().domid() + " is full");
    }

    /** A grant reference past the end of the table (GNTST_bad_gntref). */
    public int outOfTableGrantRef() {
        return front.guest().domain().grantTable().size() + 1000;
    }

    // ---- xenstore -----------------------------------------------------------------------------

    public void writeFrontendKey(String key, String value) throws IOException {
        front.guest().domain().xenstore().write(front.frontendPath() + "/" + key, value);
    }

    public void removeFrontendKey(String key) throws IOException {
        front.guest().domain().xenstore().rm(front.frontendPath() + "/" + key);
    }

    /** Writes the frontend state without doing anything else (e.g. Closed mid-I/O). */
    public void setState(XenbusState state) throws IOException {
        front.setState(state);
    }
}
