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

    private record Waiting(byte[] slot, long id, Pending pending) {
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

    /**
     * Queues a slot image: straight onto the ring when a slot is free, else behind the others.
     *
     * @param finish turns the ring's response into the one the caller sees (e.g. adds read data)
     * @param release gives back the pages and grants of the request, after its response
     */
    CompletableFuture<Response> submit(byte[] slot, long id, int operation, UnaryOperator<Response> finish,
            Runnable release) {
        CompletableFuture<Response> f = new CompletableFuture<>();
        Pending p = new Pending(operation, f, finish, release);
        boolean notify;
        synchronized (this) {
            if (closed || broken) {
                release.run();
                f.completeExceptionally(new IOException("queue " + index + " is " + (broken ? "broken" : "closed")));
                return f;
            }
            if (inFlight.containsKey(id) || waiting.stream().anyMatch(w -> w.id() == id)) {
                release.run();
                throw new IllegalArgumentException("id " + id + " is already in flight on queue " + index);
            }
            waiting.add(new Waiting(slot, id, p));
            notify = fillRing();
        }
        kick(notify);
        return f;
    }

    /** Writes waiting requests into free slots and pushes them; true if the backend wants a kick. */
    private boolean fillRing() {
        boolean put = false;
        while (!waiting.isEmpty() && ring.freeSlots() > 0) {
            Waiting w = waiting.poll();
            ring.putRequest(w.slot());
            inFlight.put(w.id(), w.pending());
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
                notify = fillRing();
            }
        }
        kick(notify);
        completions.forEach(Runnable::run);
    }

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
            return () -> {
                p.release().run();
                p.future().completeExceptionally(new BackendMisbehavedException(msg));
            };
        }
        return () -> {
            Response out;
            try {
                out = p.finish().apply(r);
            } finally {
                p.release().run();
            }
            p.future().complete(out);
        };
    }

    private void failAll(IOException cause, List<Runnable> completions) {
        List<Pending> all = new ArrayList<>(inFlight.values());
        waiting.forEach(w -> all.add(w.pending()));
        inFlight.clear();
        waiting.clear();
        for (Pending p : all) {
            completions.add(() -> {
                p.release().run();
                p.future().completeExceptionally(cause);
            });
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
