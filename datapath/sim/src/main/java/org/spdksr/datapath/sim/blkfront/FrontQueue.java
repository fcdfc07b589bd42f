package org.spdksr.datapath.sim.blkfront;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One queue of a blkfront: its ring pages and their grants, its event channel, the requests in
 * flight and those waiting for a free slot, and (with persistent grants) its pool of granted data
 * pages (blkif.md §2.3). Submissions and the event handler are serialised on this object; futures
 * are completed outside the lock, so a completion may submit again.
 */
final class FrontQueue {
    private static final Logger LOG = LoggerFactory.getLogger(FrontQueue.class);

    /** A request in flight: what its response must echo and what to do when it comes. */
    private record Pending(int operation, CompletableFuture<Response> future, UnaryOperator<Response> finish,
            Runnable release) {
    }

    /**
     * A request as it goes onto the ring. It is built only when a slot is free, so requests
     * waiting for a slot hold no pages or grants (the persistent pool stays bounded by the ring).
     */
    record Prepared(byte[] slot, int operation, UnaryOperator<Response> finish, Runnable release) {
    }

    private record Waiting(long id, Supplier<Prepared> prepare, CompletableFuture<Response> future) {
    }

    private final int index;
    private final SimGuest guest;
    private final int backendDomid;
    private final int ringFrame;
    private final int ringPages;
    private final List<Integer> ringRefs = new ArrayList<>();
    private final FrontRing ring;
    private final int port;
    private final Consumer<String> violations;
    private final Map<Long, Pending> inFlight = new HashMap<>();
    private final Deque<Waiting> waiting = new ArrayDeque<>();
    private final Deque<GrantedPage> persistentPool = new ArrayDeque<>();
    private final List<GrantedPage> persistentAll = new ArrayList<>();
    private long nextId = 1;
    private boolean broken;
    private boolean closed;

    FrontQueue(int index, SimGuest guest, int backendDomid, RequestEncoder encoder, int order,
            Consumer<String> violations) throws IOException {
        this.index = index;
        this.guest = guest;
        this.backendDomid = backendDomid;
        this.violations = violations;
        this.ringPages = 1 << order;
        this.ringFrame = guest.pages().allocate(ringPages);
        ByteBuffer shared = guest.pages().map(ringFrame, ringPages);
        this.ring = FrontRing.initialise(shared, encoder.abi(), order);
        for (int i = 0; i < ringPages; i++) {
            ringRefs.add(guest.domain().grant(ringFrame + i, backendDomid, false));
        }
        this.port = guest.bindUnbound(backendDomid, this::onEvent);
    }

    int index() {
        return index;
    }

    List<Integer> ringRefs() {
        return List.copyOf(ringRefs);
    }

    int port() {
        return port;
    }

    /** The ring's indices and what waits, for a test's failure report. */
    synchronized String describe() {
        return "queue " + index + ": " + inFlight.size() + " in flight, " + waiting.size() + " waiting; req_prod "
                + Integer.toUnsignedString(ring.sharedReqProd()) + ", req_event " + Integer.toUnsignedString(ring.sharedReqEvent())
                + ", rsp_prod " + Integer.toUnsignedString(ring.sharedRspProd()) + ", rsp_cons "
                + Integer.toUnsignedString(ring.rspCons()) + ", rsp_event " + Integer.toUnsignedString(ring.sharedRspEvent())
                + ", event channel port " + port;
    }

    /** The ring itself, for hostile primitives; callers synchronise on this queue. */
    FrontRing ring() {
        return ring;
    }

    synchronized long newId() {
        return nextId++;
    }

    synchronized int inFlight() {
        return inFlight.size() + waiting.size();
    }

    /** Queues a ready slot image (the hostile primitives); see {@link #submit(long, Supplier)}. */
    CompletableFuture<Response> submit(byte[] slot, long id, int operation, UnaryOperator<Response> finish,
            Runnable release) {
        return submit(id, () -> new Prepared(slot, operation, finish, release));
    }

    /**
     * Queues a request: straight onto the ring when a slot is free, else behind the others.
     * {@code prepare} runs under this queue's lock when the request gets its slot; its
     * {@code finish} turns the ring's response into the caller's, its {@code release} gives back
     * pages and grants after the response.
     */
    CompletableFuture<Response> submit(long id, Supplier<Prepared> prepare) {
        CompletableFuture<Response> f = new CompletableFuture<>();
        List<Runnable> completions = new ArrayList<>();
        boolean notify;
        synchronized (this) {
            if (closed || broken) {
                f.completeExceptionally(new IOException("queue " + index + " is " + (broken ? "broken" : "closed")));
                return f;
            }
            if (inFlight.containsKey(id) || waiting.stream().anyMatch(w -> w.id() == id)) {
                throw new IllegalArgumentException("id " + id + " is already in flight on queue " + index);
            }
            waiting.add(new Waiting(id, prepare, f));
            notify = fillRing(completions);
        }
        kick(notify);
        completions.forEach(Runnable::run);
        return f;
    }

    /** Where {@link #submitNow} put a request, and its response. */
    record Placed(int index, CompletableFuture<Response> future) {
    }

    /**
     * Puts a ready slot image on the ring at once (the hostile primitives need to know the index):
     * refused when the ring is full or other requests are waiting for a slot.
     */
    Placed submitNow(byte[] slot, long id, int operation) {
        CompletableFuture<Response> f = new CompletableFuture<>();
        boolean notify;
        int at;
        synchronized (this) {
            if (closed || broken) {
                throw new IllegalStateException("queue " + index + " is " + (broken ? "broken" : "closed"));
            }
            if (!waiting.isEmpty() || ring.freeSlots() <= 0) {
                throw new IllegalStateException("queue " + index + " has no free slot (" + ring.outstanding()
                        + " unanswered, " + waiting.size() + " waiting)");
            }
            if (inFlight.containsKey(id)) {
                throw new IllegalArgumentException("id " + id + " is already in flight on queue " + index);
            }
            at = ring.putRequest(slot);
            inFlight.put(id, new Pending(operation, f, r -> r, () -> { }));
            notify = ring.pushRequests();
        }
        kick(notify);
        return new Placed(at, f);
    }

    /** Writes waiting requests into free slots and pushes them; true if the backend wants a kick. */
    private boolean fillRing(List<Runnable> completions) {
        boolean put = false;
        while (!waiting.isEmpty() && ring.freeSlots() > 0) {
            Waiting w = waiting.poll();
            Prepared p;
            try {
                p = w.prepare().get();
            } catch (RuntimeException e) {
                completions.add(() -> w.future().completeExceptionally(e));
                continue;
            }
            ring.putRequest(p.slot());
            inFlight.put(w.id(), new Pending(p.operation(), w.future(), p.finish(), p.release()));
            put = true;
        }
        return put && ring.pushRequests();
    }

    void kick(boolean notify) {
        if (notify) {
            try {
                guest.notify(port);
            } catch (IOException e) {
                LOG.debug("notify on port {} of queue {}: {}", port, index, e.getMessage());
            }
        }
    }

    /** The event handler: take responses until the final check finds none (RING_FINAL_CHECK_FOR_RESPONSES). */
    void onEvent() {
        List<Runnable> completions = new ArrayList<>();
        boolean notify = false;
        synchronized (this) {
            if (closed || broken) {
                return;
            }
            try {
                do {
                    ring.consumeResponses(r -> completions.add(match(r)));
                } while (ring.finalCheckForResponses());
            } catch (BackendMisbehavedException e) {
                violations.accept("queue " + index + ": " + e.getMessage());
                broken = true;
                failAll(e, completions);
            }
            if (!broken) {
                notify = fillRing(completions);
            }
        }
        kick(notify);
        completions.forEach(Runnable::run);
    }

    /**
     * Matches a response to its request. Finishing and releasing happen here, under the lock and
     * before the ring is refilled, so the freed pages serve the next requests; only the future is
     * completed later, outside the lock.
     */
    private Runnable match(Response r) {
        Pending p = inFlight.remove(r.id());
        if (p == null) {
            violations.accept("queue " + index + ": response for id " + r.id() + " that is not in flight");
            return () -> { };
        }
        if (r.operation() != p.operation()) {
            String msg = "queue " + index + ": response to id " + r.id() + " echoes operation " + r.operation()
                    + ", the request's was " + p.operation();
            violations.accept(msg);
            p.release().run();
            return () -> p.future().completeExceptionally(new BackendMisbehavedException(msg));
        }
        Response out;
        try {
            out = p.finish().apply(r);
        } catch (RuntimeException e) {
            return () -> p.future().completeExceptionally(e);
        } finally {
            p.release().run();
        }
        return () -> p.future().complete(out);
    }

    private void failAll(IOException cause, List<Runnable> completions) {
        List<Pending> all = new ArrayList<>(inFlight.values());
        List<Waiting> queued = new ArrayList<>(waiting);
        inFlight.clear();
        waiting.clear();
        for (Pending p : all) {
            completions.add(() -> {
                p.release().run();
                p.future().completeExceptionally(cause);
            });
        }
        for (Waiting w : queued) {
            completions.add(() -> w.future().completeExceptionally(cause));
        }
    }

    // ---- data pages -------------------------------------------------------------------------

    /** A data page for one request: from the persistent pool, or freshly allocated and granted. */
    synchronized GrantedPage takeDataPage(boolean persistent, boolean readOnly) {
        if (persistent) {
            GrantedPage p = persistentPool.poll();
            if (p == null) {
                int frame = guest.pages().allocate(1);
                p = new GrantedPage(frame, guest.domain().grant(frame, backendDomid, false));
                persistentAll.add(p);
            }
            return p;
        }
        int frame = guest.pages().allocate(1);
        return new GrantedPage(frame, guest.domain().grant(frame, backendDomid, readOnly));
    }

    synchronized void returnDataPage(GrantedPage page, boolean persistent) {
        if (persistent) {
            if (!closed) {
                persistentPool.add(page);
            }
            return;
        }
        guest.domain().revoke(page.gref());
        guest.pages().free(page.frame(), 1);
    }

    synchronized int persistentGrants() {
        return persistentAll.size();
    }

    /**
     * Disconnects: fails what is in flight or waiting, ends every grant (ring, pool), unbinds the
     * port and frees the ring. Called once the backend has let go, or when giving up on it (§5.7).
     */
    void teardown(IOException cause) {
        List<Runnable> completions = new ArrayList<>();
        synchronized (this) {
            if (closed) {
                return;
            }
            failAll(cause, completions);
            closed = true;
        }
        completions.forEach(Runnable::run);
        synchronized (this) {
            guest.unbind(port);
            for (GrantedPage p : persistentAll) {
                guest.domain().revoke(p.gref());
                guest.pages().free(p.frame(), 1);
            }
            persistentAll.clear();
            persistentPool.clear();
            for (int ref : ringRefs) {
                guest.domain().revoke(ref);
            }
            guest.pages().free(ringFrame, ringPages);
        }
    }
}
