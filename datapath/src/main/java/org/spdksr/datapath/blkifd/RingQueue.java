package org.spdksr.datapath.blkifd;

import static org.spdksr.datapath.blkif.BlkifConstants.*;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.blkif.BackRing;
import org.spdksr.datapath.blkif.BlkifRequest;
import org.spdksr.datapath.blkif.RequestDecoder;
import org.spdksr.datapath.blkif.RequestValidator;
import org.spdksr.datapath.blkif.RingBrokenException;
import org.spdksr.datapath.xen.evtchn.EventChannels;
import org.spdksr.datapath.xen.grant.CopySegment;
import org.spdksr.datapath.xen.grant.GrantAccess;
import org.spdksr.datapath.xen.grant.GrantMapping;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.grant.GrantStatus;

/**
 * One ring of one disk, served by one worker thread that alone touches the ring: it consumes
 * requests, starts their I/O, and writes the responses that completions hand back to it, so
 * responses are batched and pushed once per pass (blkif.md §1.8, §7).
 */
final class RingQueue {
    private static final Logger LOG = LoggerFactory.getLogger(RingQueue.class);
    /** Requests taken per pass before responses get a turn. */
    private static final int BATCH = 64;
    /** A safety net only: every real wake-up comes from an event or a completion. */
    private static final long IDLE_WAIT_MS = 1000;
    /** How long stop waits for the worker to finish its pass; it does not wait for the device. */
    private static final Duration WORKER_EXIT = Duration.ofSeconds(10);

    private final String name;
    private final int frontendDomid;
    private final BackRing ring;
    private final GrantMapping ringPages;
    private final EventChannels events;
    private final int localPort;
    private final GrantAccess grants;
    private final RequestDecoder decoder;
    private final RequestValidator validator;
    private final RequestIo io;
    private final OrderingGate gate = new OrderingGate();
    private final QueueCounters counters;
    private final Consumer<String> onBroken;
    private final PersistentGrants persistent;
    private final RingJournal journal;
    /** Requests a killed predecessor took and did not answer, to start before new ones. */
    private final Deque<RingJournal.Outstanding> replay;
    private final List<Integer> answered = new ArrayList<>();
    /** This device's budget for the log lines its guest causes. */
    private final RateLimitedLog guestLog;

    private final ConcurrentLinkedQueue<Completion> completions = new ConcurrentLinkedQueue<>();
    private final Semaphore wake = new Semaphore(0);
    private final AtomicInteger inFlight = new AtomicInteger();
    /** Stands for this queue among the waiters for buffer memory (one identity, see {@link BufferPool}). */
    private final Runnable memoryReturned = this::wake;
    /** A checked request taken off the ring whose buffer is waiting for memory; worker only. */
    private BlkifRequest.Direct parked;
    private int parkedEntry;
    /** The indirect descriptor pages of the request being resolved (at most 8), reused; worker only. */
    private ByteBuffer descriptors;
    private final Thread worker;
    private volatile boolean running = true;
    /** Every touch of the guest's memory (grant copy, persistent page) goes through it; closed by stop. */
    private final GuestMemoryGate guest = new GuestMemoryGate();

    RingQueue(String name, int frontendDomid, BackRing ring, GrantMapping ringPages, EventChannels events, int localPort,
            GrantAccess grants, RequestDecoder decoder, RequestValidator validator, RequestIo.Factory ioFactory,
            QueueCounters counters, Consumer<String> onBroken, PersistentGrants persistent, RingJournal journal,
            List<RingJournal.Outstanding> replay, RateLimitedLog guestLog) {
        this.name = name;
        this.frontendDomid = frontendDomid;
        this.ring = ring;
        this.ringPages = ringPages;
        this.events = events;
        this.localPort = localPort;
        this.grants = grants;
        this.decoder = decoder;
        this.validator = validator;
        this.counters = counters;
        this.onBroken = onBroken;
        this.persistent = persistent;
        this.journal = journal;
        this.replay = new ArrayDeque<>(replay);
        this.guestLog = guestLog;
        this.io = ioFactory.create(guest);
        this.worker = new Thread(this::run, name);
        this.worker.setDaemon(true);
    }

    void start() {
        worker.start();
        wake(); // requests may already be on a ring we took over (blkif.md §1.1)
    }

    /**
     * A spurious event for the frontend, after a take-over: a killed predecessor may have published
     * responses and died before it notified, and the push check alone would never notify for them
     * (their index is below what the check compares against), leaving the frontend waiting.
     */
    void notifyFrontend() throws IOException {
        events.notify(localPort);
    }

    int localPort() {
        return localPort;
    }

    /** Called by the event-channel pump for this queue's port, and by completions. */
    void wake() {
        wake.release();
    }

    private void run() {
        try {
            while (running) {
                wake.tryAcquire(IDLE_WAIT_MS, TimeUnit.MILLISECONDS);
                wake.drainPermits();
                if (running) {
                    serviceUntilIdle();
                }
            }
        } catch (RingBrokenException e) {
            LOG.error("{}: {}; the ring is shut down", name, e.getMessage());
            running = false;
            onBroken.accept(e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            LOG.error("{}: queue worker failed", name, e);
            running = false;
            onBroken.accept("queue worker failed: " + e);
        }
    }

    /**
     * Answers what completed and takes new requests, one slot at a time, until the ring is empty
     * or blkifd's buffer memory is spent. Then the queue stops taking requests (backpressure,
     * issue 18): the rest stay on the ring, the guest's memory, and the one that found no buffer
     * waits in {@link #parked} until buffers come back and wake the queue.
     */
    private void serviceUntilIdle() throws RingBrokenException, IOException {
        boolean more;
        List<byte[]> slot = new ArrayList<>(1);
        do {
            respond();
            boolean waiting = parked != null && !start(parked, parkedEntry);
            // What a killed predecessor took and did not answer goes first (issue 18).
            while (!waiting && !replay.isEmpty()) {
                RingJournal.Outstanding o = replay.poll();
                waiting = !dispatch(decoder.decode(o.slot()), o.entry());
            }
            for (int taken = 0; !waiting && taken < BATCH; taken++) {
                int index = ring.nextRequestIndex();
                if (ring.consume(slot, 1) != 1) {
                    break;
                }
                // Journaled before anything is done for it, so a restarted blkifd answers it.
                int entry = journal.taken(index, slot.get(0));
                waiting = !dispatch(decoder.decode(slot.remove(0)), entry);
            }
            respond();
            // Tail and final checks: work published without a notification is found here. While
            // waiting for memory, new requests stay where they are.
            more = !completions.isEmpty() || (!waiting && ring.finalCheckForRequests());
        } while (more && running);
    }

    /** @return false when the request waits for buffer memory (it is then {@link #parked}) */
    private boolean dispatch(BlkifRequest request, int entry) {
        inFlight.incrementAndGet();
        if (request instanceof BlkifRequest.Indirect indirect) {
            request = resolve(indirect);
        }
        Optional<BlkifRequest.Malformed> rejection = validator.check(request);
        if (rejection.isPresent()) {
            BlkifRequest.Malformed m = rejection.get();
            guestLog.warn(LOG, "{}: rejected request {} (op {}): {}", name, Long.toUnsignedString(m.id()), m.operation(),
                    m.reason());
            counters.rejected.increment();
            complete(m.id(), m.operation(), m.status(), entry);
            return true;
        }
        return start(request, entry);
    }

    /**
     * Starts a checked request's I/O once its data buffer is taken, so that it never fails for
     * want of memory.
     *
     * @return false, with the request {@link #parked}, when its buffer must wait for memory
     */
    private boolean start(BlkifRequest request, int entry) {
        long id = request.id();
        int operation = request.operation();
        CompletableFuture<Short> result;
        if (request instanceof BlkifRequest.Discard discard) {
            result = gate.submit(() -> io.discard(discard));
        } else {
            BlkifRequest.Direct direct = (BlkifRequest.Direct) request;
            Optional<Supplier<CompletableFuture<Short>>> ready = io.prepare(direct, memoryReturned);
            if (ready.isEmpty()) {
                parked = direct;
                parkedEntry = entry;
                return false;
            }
            parked = null;
            result = direct.ioOperation() == OP_WRITE_BARRIER
                    ? gate.submitBarrier(ready.get())
                    : gate.submit(ready.get());
        }
        result.whenComplete((status, e) -> complete(id, operation, e == null ? status : RSP_ERROR, entry));
        return true;
    }

    /** Fetches an indirect request's descriptor pages with one grant copy, then decodes them once. */
    private BlkifRequest resolve(BlkifRequest.Indirect request) {
        int pages = request.indirectGrefs().size();
        if (descriptors == null) {
            // One buffer per queue, not one per request: direct memory is only freed by the GC.
            descriptors = ByteBuffer.allocateDirect(MAX_INDIRECT_PAGES * PAGE_SIZE);
        }
        List<CopySegment> copies = new ArrayList<>(pages);
        for (int i = 0; i < pages; i++) {
            copies.add(CopySegment.fromGrant(new GrantRef(frontendDomid, request.indirectGrefs().get(i)), 0, descriptors,
                    i * PAGE_SIZE, PAGE_SIZE));
        }
        try {
            List<GrantStatus> statuses = guest.ifOpen(() -> copyGrants(copies), null);
            if (statuses == null) {
                return new BlkifRequest.Malformed(request.indirectOp(), request.id(), RSP_ERROR,
                        "the frontend closed; its descriptor pages are not read");
            }
            for (GrantStatus status : statuses) {
                if (!status.ok()) {
                    return new BlkifRequest.Malformed(request.indirectOp(), request.id(), RSP_ERROR,
                            "indirect descriptor page refused: " + status.meaning());
                }
            }
        } catch (RuntimeException e) { // an IOException of the copy comes wrapped (copyGrants)
            return new BlkifRequest.Malformed(request.indirectOp(), request.id(), RSP_ERROR,
                    "indirect descriptor copy failed: " + e);
        }
        byte[] copy = new byte[pages * PAGE_SIZE];
        descriptors.get(0, copy);
        return decoder.resolveIndirect(request, copy);
    }

    private List<GrantStatus> copyGrants(List<CopySegment> copies) {
        try {
            return grants.copy(copies);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private void complete(long id, int operation, short status, int entry) {
        completions.add(new Completion(id, operation, status, entry));
        wake();
    }

    /** Writes waiting responses and pushes them once; notifies when the frontend asked for it. */
    private void respond() throws IOException {
        Completion completion;
        while ((completion = completions.poll()) != null) {
            inFlight.decrementAndGet();
            if (!guest.isOpen()) {
                continue; // no responses on a ring whose frontend closed (blkif.md §5.7)
            }
            journal.answering(completion.entry(), ring.nextResponseIndex());
            ring.putResponse(completion.id(), completion.operation(), completion.status());
            answered.add(completion.entry());
        }
        if (answered.isEmpty()) {
            return;
        }
        boolean notify = ring.pushResponses();
        for (int entry : answered) {
            journal.published(entry);
        }
        answered.clear();
        if (notify) {
            counters.notificationsSent.increment();
            events.notify(localPort);
        }
    }

    /**
     * Stops taking requests, answering and touching the guest's memory, at once: no copy to or from
     * the guest starts after this returns. Waits only for a copy already in progress (one memcpy),
     * not for the device. Idempotent; {@link #stop} does it first, a disconnect does it for every
     * queue before it waits for any.
     */
    void shutOff() {
        guest.close();
        running = false;
        wake();
    }

    /**
     * Shuts the queue off, waits (up to {@code drainTimeout}) for I/O already in the device, then
     * unmaps the ring and the persistent grants and unbinds the event channel, whether or not that
     * I/O has finished: the backend says Closed right after this, a frontend revokes its grants once
     * it sees Closed (blkif.md §5.7), and a page still mapped then is leaked on real Xen (gntdev keeps
     * it). I/O still in the device keeps only its own buffer; its answer is dropped.
     */
    void stop(Duration drainTimeout) {
        shutOff();
        long deadline = System.nanoTime() + drainTimeout.toNanos();
        try {
            // The worker never waits for the device, so it ends within a pass whatever the drain time.
            worker.join(WORKER_EXIT.toMillis());
            // After the worker ended, so that it cannot queue up again; a waiter left behind
            // would hold up every other queue of the domain.
            io.stopWaitingForMemory(memoryReturned);
            if (!worker.isAlive() && parked != null) {
                parked = null; // never started: nothing to wait for, and no answer on a closed ring
                inFlight.decrementAndGet();
            }
            while (inFlight.get() > 0 && System.nanoTime() < deadline) {
                Completion c = completions.poll();
                if (c != null) {
                    inFlight.decrementAndGet();
                } else {
                    Thread.sleep(1);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (inFlight.get() > 0) {
            LOG.warn("{}: {} requests still in the device after {}; unmapping the guest's pages anyway: those requests"
                    + " keep their own buffers and their answers are dropped", name, inFlight.get(), drainTimeout);
        }
        if (worker.isAlive()) {
            // Only the worker reads the ring: unmapping it under the worker would crash blkifd.
            LOG.error("{}: the queue worker did not stop within {}; its ring of {} pages stays mapped. A thread dump"
                    + " (jstack) shows where it is stuck; restart blkifd to release the pages", name, WORKER_EXIT,
                    ringPages.pageCount());
        } else {
            ringPages.close();
        }
        if (persistent != null) {
            persistent.close(); // safe now: every use of a persistent page is inside the closed gate
        }
        try {
            events.unbind(localPort);
        } catch (IOException e) {
            LOG.warn("{}: unbinding event channel port {}: {}", name, localPort, e.toString());
        }
    }

    boolean running() {
        return running;
    }
}
