package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.blkif.BackRing;
import org.spdksr.datapath.blkif.BlkifConstants;
import org.spdksr.datapath.blkif.DeviceGeometry;
import org.spdksr.datapath.blkif.RequestDecoder;
import org.spdksr.datapath.blkif.RequestValidator;
import org.spdksr.datapath.blkif.RingBrokenException;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.xen.grant.GrantAccess;
import org.spdksr.datapath.xen.grant.GrantMapping;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreOps;

/**
 * The backend half of the handshake for one virtual disk (blkif.md §5.6, §5.7), on
 * {@code /local/domain/0/backend/qdisk/<domid>/<devid>}. It reacts to whatever state the
 * frontend is in when a watch fires, not to the sequence of events, so collapsed or repeated
 * events do no harm. When connected it runs one {@link RingQueue} per queue.
 */
public final class VbdBackend implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(VbdBackend.class);
    /** How long a disconnect waits for I/O in the device before it unmaps anyway (RingQueue.stop). */
    static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);

    private final Xenstore xs;
    private final GrantAccess grants;
    private final EventPump pump;
    private final BackendFeatures features;
    private final String backend;
    private final int frontendDomid;
    private final BlockDevice device;
    private final boolean readOnly;
    /** The domain's request buffers, shared with its other disks: one memory budget (issue 18). */
    private final BufferPool buffers;
    private final String name;
    private final RingJournals journals;
    /** The journals' name for this disk. */
    private final String journalKey;
    private final QueueCounters counters = new QueueCounters();
    /** One budget for every log line this device's guest can cause, whichever queue or step it comes from. */
    private final RateLimitedLog guestLog;
    private final AtomicReference<String> fatal = new AtomicReference<>();
    private final CompletableFuture<Void> finished = new CompletableFuture<>();
    private final Duration drainTimeout;

    private String frontend;
    private XenbusState state = XenbusState.INITIALISING;
    private List<RingQueue> queues = List.of();
    private FrontendConnection connection;
    private volatile long advertisedSectors;
    /** What requests are checked against; replaced on online resize. */
    private volatile DeviceGeometry geometry;
    private volatile boolean stopping;
    /** Requests answered again after a take-over, for the log. */
    private int replayed;
    private Thread thread;

    VbdBackend(Xenstore xs, GrantAccess grants, EventPump pump, BackendFeatures features, String backend,
            int frontendDomid, BlockDevice device, boolean readOnly, RingJournals journals, BufferPool buffers,
            Duration drainTimeout) {
        this.drainTimeout = drainTimeout;
        this.xs = xs;
        this.grants = grants;
        this.pump = pump;
        this.features = features;
        this.backend = backend;
        this.frontendDomid = frontendDomid;
        this.device = device;
        this.readOnly = readOnly;
        this.buffers = buffers;
        this.name = "vbd " + frontendDomid + "/" + backend.substring(backend.lastIndexOf('/') + 1);
        this.journals = journals;
        this.journalKey = frontendDomid + "-" + backend.substring(backend.lastIndexOf('/') + 1);
        this.guestLog = RateLimitedLog.forDevice(name);
    }

    void start() {
        thread = new Thread(this::run, name + " handshake");
        thread.setDaemon(true);
        thread.start();
    }

    public String name() {
        return name;
    }

    public XenbusState state() {
        return state;
    }

    public QueueCounters.Snapshot counters() {
        return counters.snapshot();
    }

    /** What the budget for guest-caused log lines wrote and held back so far. */
    RateLimitedLog.Accounting guestLogAccounting() {
        return guestLog.accounting();
    }

    public int queueCount() {
        return queues.size();
    }

    public Optional<FrontendConnection> connection() {
        return Optional.ofNullable(connection);
    }

    /** Completes when the device is torn down (frontend gone, or offline and closed). */
    public CompletableFuture<Void> finished() {
        return finished;
    }

    private void run() {
        try {
            Optional<String> frontendPath = awaitToolstack();
            if (frontendPath.isEmpty()) {
                return;
            }
            frontend = frontendPath.get();
            try (WatchMux watches = new WatchMux(xs, List.of(backend, frontend), name)) {
                if (!takeOverLiveConnection()) {
                    advertiseEarlyFeatures();
                }
                while (!stopping && !finished.isDone()) {
                    reconcileOrRefuse();
                    if (!finished.isDone()) {
                        watches.next(Duration.ofSeconds(1));
                        watches.drain(); // one look at the current state covers them all
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException | RuntimeException e) {
            LOG.error("{}: handshake stopped: {}", name, e.toString());
        } finally {
            if (stopping) {
                stopQueues(); // blkifd stops: see close()
            } else {
                disconnect();
            }
            // Once per device, not per connection: a guest cycling connections gets no extra lines.
            guestLog.flush();
            finished.complete(null);
        }
    }

    /**
     * The disk may be registered before xenopsd writes its nodes (Datapath.activate runs first,
     * smapiv3.md §6): wait for the backend directory and its {@code frontend} key.
     */
    private Optional<String> awaitToolstack() throws IOException, InterruptedException {
        try (WatchMux watch = new WatchMux(xs, List.of(backend), name)) {
            while (!stopping) {
                Optional<String> path = xs.readIfExists(backend + "/frontend");
                if (path.isPresent() && !path.get().isBlank()) {
                    return path;
                }
                watch.next(Duration.ofSeconds(1));
            }
        }
        return Optional.empty();
    }

    /** Features the frontend reads before it sets up its rings: written before InitWait (§5.4). */
    private void advertiseEarlyFeatures() throws IOException {
        xs.transaction(tx -> {
            tx.write(backend + "/max-ring-page-order", Integer.toString(features.maxRingPageOrder()));
            tx.write(backend + "/max-ring-pages", Integer.toString(1 << features.maxRingPageOrder()));
            tx.write(backend + "/multi-queue-max-queues", Integer.toString(features.maxQueues()));
            if (features.maxIndirectSegments() > 0) {
                tx.write(backend + "/feature-max-indirect-segments", Integer.toString(features.maxIndirectSegments()));
            }
            return null;
        });
        setState(XenbusState.INIT_WAIT);
        // xenopsd waits for this before it calls the VBD plugged (§5.3); for qdisk disks we are the
        // hotplug agent.
        xs.write(backend + "/hotplug-status", "connected");
    }

    /**
     * A blkifd restarted after its predecessor died (kill -9, a JVM crash) finds the frontend still
     * Connected: the guest never noticed. It maps the same rings, binds the same event channels and
     * answers what its predecessor had taken, from the ring journals (issue 18), without the
     * frontend reconnecting.
     *
     * @return false when there is no live connection to take over (the handshake starts afresh)
     */
    private boolean takeOverLiveConnection() throws IOException {
        XenbusState backendState = XenbusState.parse(xs.readIfExists(backend + "/state").orElse(null));
        XenbusState frontendState = XenbusState.parse(xs.readIfExists(frontend + "/state").orElse(null));
        if (backendState != XenbusState.CONNECTED || frontendState != XenbusState.CONNECTED) {
            return false;
        }
        if (!journals.exist(journalKey)) {
            fail("frontend " + frontend + " is connected to a backend process that is gone and left no ring "
                    + "journal to take over from; unplug and plug the disk (or restart the VM) to reconnect it");
            return true;
        }
        LOG.info("{}: taking over the live connection of a previous blkifd", name);
        connect(true);
        return true;
    }

    /**
     * Everything reconcile looks at is written by the frontend or the toolstack. A value that trips
     * an unchecked exception on the way (a check missing somewhere) must cost the guest this
     * connection attempt only, never the device: it is refused like bad keys (error, Closing), and
     * the frontend's reset (Closed, Initialising) is served as always. Only xenstore failing
     * (IOException) ends the handshake.
     */
    private void reconcileOrRefuse() throws IOException {
        try {
            reconcile();
        } catch (RuntimeException e) {
            guestLog.warn(LOG, "{}: unexpected failure handling the frontend's state; refusing this connection", name, e);
            fail("cannot connect to frontend " + frontend + ": internal error " + e
                    + " (reset the frontend to try again; report this as a blkifd bug)");
        }
    }

    private void reconcile() throws IOException {
        Optional<String> frontendStateText = xs.readIfExists(frontend + "/state");
        boolean online = "1".equals(xs.readIfExists(backend + "/online").orElse("0").trim());
        if (frontendStateText.isEmpty()) {
            LOG.info("{}: frontend {} is gone; tearing down", name, frontend);
            teardown();
            return;
        }
        XenbusState frontendState = XenbusState.parse(frontendStateText.get());
        switch (frontendState) {
            case INITIALISED, CONNECTED -> {
                if (state == XenbusState.INIT_WAIT) {
                    connect(false);
                } else if (state == XenbusState.CLOSED && online) {
                    // A frontend that skipped Initialising on its way back (§5.6 step 4).
                    reopen();
                    connect(false);
                }
            }
            case INITIALISING, INIT_WAIT -> {
                if (state == XenbusState.CLOSED && online) {
                    reopen(); // guest reboot, kexec or driver reload (§5.7)
                } else if (state == XenbusState.CLOSING && queues.isEmpty() && fatal.get() != null && online) {
                    // Refused before anything was mapped, and the frontend started over without
                    // passing Closed: nothing to undo, offer the next attempt.
                    reopen();
                }
            }
            case CLOSING -> {
                if (state != XenbusState.CLOSED && state != XenbusState.CLOSING) {
                    setState(XenbusState.CLOSING);
                }
            }
            case CLOSED -> {
                if (state != XenbusState.CLOSED) {
                    disconnect();
                    // Unmapping can take a while (many persistent grants). A frontend reset meanwhile
                    // (unbind and bind) is already Initialising again: writing Closed now would make
                    // it close itself, and both ends would wait for each other (seen on real Xen).
                    XenbusState now = XenbusState.parse(xs.readIfExists(frontend + "/state").orElse(null));
                    if (online && (now == XenbusState.INITIALISING || now == XenbusState.INITIALISED)) {
                        state = XenbusState.CLOSED;
                        reopen();
                        return;
                    }
                    setState(XenbusState.CLOSED);
                }
                if (!online) {
                    teardown();
                }
            }
            default -> {
                LOG.info("{}: frontend state {}; tearing down", name, frontendState);
                teardown();
            }
        }
        if (!online && state != XenbusState.CONNECTED && frontendState != XenbusState.CLOSED
                && frontendState != XenbusState.CLOSING && state != XenbusState.CLOSED && !finished.isDone()) {
            // online=0 before the frontend ever connected: nothing to wait for.
            disconnect();
            setState(XenbusState.CLOSED);
            teardown();
        }
    }

    private void reopen() throws IOException {
        LOG.info("{}: frontend restarted; offering a new connection", name);
        fatal.set(null);
        xs.rm(backend + "/error"); // the previous connection's failure is history
        advertiseEarlyFeatures();
    }

    /** @param takeOver continue the connection a previous process made, instead of a new one */
    private void connect(boolean takeOver) throws IOException {
        FrontendConnection wanted;
        try {
            wanted = FrontendKeys.read(xs, frontend, features);
        } catch (FrontendKeys.FrontendKeyException e) {
            fail("frontend " + frontend + ": " + e.getMessage());
            return;
        } catch (RuntimeException e) {
            // A value FrontendKeys let through but should not have: still only this attempt's fault.
            guestLog.warn(LOG, "{}: unexpected failure reading the keys of frontend {}", name, frontend, e);
            fail("frontend " + frontend + ": keys not understood (" + e + "); reset the frontend to try again");
            return;
        }
        long sectors = device.sizeBytes() / BlkifConstants.SECTOR_SIZE;
        // Requests are checked against exactly what is advertised (feature-discard included).
        boolean discard = discardOffered();
        geometry = new DeviceGeometry(sectors, readOnly, discard, false);
        RequestBuffers buffers = new RequestBuffers(device, this.buffers);
        List<RingQueue> started = new ArrayList<>();
        try {
            for (int q = 0; q < wanted.queues().size(); q++) {
                started.add(openQueue(q, wanted, buffers, takeOver));
            }
        } catch (IOException | RingBrokenException | RuntimeException e) {
            started.forEach(queue -> {
                pump.forget(queue.localPort());
                queue.stop(Duration.ZERO);
            });
            fail((takeOver ? "cannot take over the connection of frontend " : "cannot connect to frontend ")
                    + frontend + ": " + e.getMessage());
            return;
        }
        connection = wanted;
        queues = List.copyOf(started);
        if (takeOver) {
            // Connected already, with the properties the previous process wrote: writing the state
            // again would only wake the frontend. A size that changed meanwhile is announced below.
            advertisedSectors = xs.readIfExists(backend + "/sectors").map(String::trim).filter(v -> v.matches("[0-9]{1,19}"))
                    .map(Long::parseLong).orElse(sectors);
            state = XenbusState.CONNECTED;
            started.forEach(RingQueue::start);
            for (RingQueue queue : started) {
                queue.notifyFrontend();
            }
            LOG.info("{}: took over the connection: {} queue(s), {} request(s) taken by the previous process answered "
                    + "again", name, queues.size(), replayed);
            resized();
            return;
        }
        xs.transaction(tx -> {
            writeDeviceProperties(tx, sectors, discard);
            return null;
        });
        advertisedSectors = sectors;
        started.forEach(RingQueue::start);
        setState(XenbusState.CONNECTED);
        LOG.info("{}: connected: {} queue(s), ring order {}, {}, {} sectors{}", name, queues.size(),
                wanted.ringPageOrder(), wanted.abi().protocolName(), sectors, readOnly ? ", read-only" : "");
    }

    private RingQueue openQueue(int index, FrontendConnection wanted, RequestBuffers buffers, boolean takeOver)
            throws IOException, RingBrokenException {
        FrontendConnection.QueueKeys keys = wanted.queues().get(index);
        // Both sides must agree before grants are kept mapped (§5.4, §5.5).
        PersistentGrants persistent = wanted.persistent() && features.persistentGrantsPerQueue() > 0
                ? new PersistentGrants(grants, frontendDomid, features.persistentGrantsPerQueue())
                : null;
        List<GrantRef> refs = keys.ringRefs().stream().map(r -> new GrantRef(frontendDomid, r)).toList();
        GrantMapping pages = grants.map(refs, true);
        int localPort;
        try {
            BackRing ring = new BackRing(pages.buffer(), wanted.abi(), wanted.ringPageOrder());
            long fingerprint = RingJournals.fingerprint(frontend, wanted, index);
            RingJournal journal;
            List<RingJournal.Outstanding> replay = List.of();
            if (takeOver) {
                RingJournal.Recovered recovered;
                try {
                    recovered = journals.recover(journalKey, index, ring.entries(), wanted.abi(), fingerprint,
                            ring.nextResponseIndex()).orElseThrow(() -> new IOException("queue " + index
                                    + " has no ring journal of this connection"));
                } catch (RingJournal.InconsistentJournalException e) {
                    throw new IOException("queue " + index + ": " + e.getMessage(), e);
                }
                ring = BackRing.takeOver(pages.buffer(), wanted.abi(), wanted.ringPageOrder(),
                        recovered.nextRequestIndex());
                journal = recovered.journal();
                replay = recovered.outstanding();
                replayed += replay.size();
            } else {
                journal = journals.create(journalKey, index, ring.entries(), wanted.abi(), fingerprint,
                        ring.nextRequestIndex());
            }
            localPort = pump.events().bindInterdomain(frontendDomid, keys.eventChannel());
            String queueName = name + " q" + index;
            BlockDevice ringDevice = device.forRing(index);
            RingQueue queue = new RingQueue(queueName, frontendDomid, ring, pages, pump.events(), localPort, grants,
                    new RequestDecoder(wanted.abi(), features.maxIndirectSegments()), new RequestValidator(() -> geometry),
                    reachable -> new RequestIo(queueName, frontendDomid, grants, ringDevice, buffers, counters, reachable,
                            persistent, guestLog),
                    counters, reason -> onQueueBroken(queueName, reason), persistent, journal, replay, guestLog);
            pump.listen(localPort, queue::wake);
            return queue;
        } catch (IOException | RingBrokenException | RuntimeException e) {
            pages.close();
            throw e;
        }
    }

    /** The connect-time properties, in one transaction before Connected, as blkback does (§5.4). */
    /** Discard is offered when the device can, the disk is writable and the toolstack did not say discard-enable=0. */
    private boolean discardOffered() throws IOException {
        return device.supportsDiscard() && !readOnly
                && !"0".equals(xs.readIfExists(backend + "/discard-enable").orElse("1").trim());
    }

    private void writeDeviceProperties(XenstoreOps tx, long sectors, boolean discard) throws IOException {
        tx.write(backend + "/sectors", Long.toString(sectors));
        tx.write(backend + "/sector-size", Integer.toString(device.logicalBlockSize()));
        tx.write(backend + "/physical-sector-size", Integer.toString(Math.max(device.logicalBlockSize(), 4096)));
        tx.write(backend + "/info", Integer.toString(readOnly ? 4 : 0)); // VDISK_READONLY (§1.7)
        tx.write(backend + "/feature-flush-cache", "1");
        tx.write(backend + "/feature-barrier", "1");
        tx.write(backend + "/feature-discard", discard ? "1" : "0");
        if (discard) {
            tx.write(backend + "/discard-granularity", "4096");
            tx.write(backend + "/discard-alignment", "0");
            tx.write(backend + "/discard-secure", "0");
        }
        tx.write(backend + "/feature-persistent", features.persistentGrantsPerQueue() > 0 ? "1" : "0");
    }

    /**
     * Online resize (§5.4): the new size, then the state written again so that the frontend's
     * watch fires and it reads the size.
     */
    public void resized() throws IOException {
        long sectors = device.sizeBytes() / BlkifConstants.SECTOR_SIZE;
        if (state != XenbusState.CONNECTED || sectors == advertisedSectors) {
            return;
        }
        // The checks learn the new size before the frontend does, so it can use the space at once.
        DeviceGeometry old = geometry;
        geometry = new DeviceGeometry(sectors, old.readOnly(), old.discard(), old.secureDiscard());
        xs.write(backend + "/sectors", Long.toString(sectors));
        advertisedSectors = sectors;
        setState(XenbusState.CONNECTED);
        LOG.info("{}: resized to {} sectors", name, sectors);
    }

    private void onQueueBroken(String queue, String reason) {
        fatal.compareAndSet(null, queue + ": " + reason);
        try {
            xs.write(backend + "/error", queue + ": " + reason);
            setState(XenbusState.CLOSING);
        } catch (IOException e) {
            LOG.warn("{}: cannot report the broken ring in xenstore: {}", name, e.toString());
        }
    }

    /**
     * Like xenbus_dev_fatal: say why in {@code error}, then go to Closing. The guest decides how
     * often this happens (each attempt with bad keys), so the line goes through its budget. The
     * same refusal again while still Closing writes nothing: the write would wake this handshake's
     * own watch and spin.
     */
    private void fail(String reason) throws IOException {
        if (state == XenbusState.CLOSING && reason.equals(fatal.get())) {
            return;
        }
        guestLog.warn(LOG, "{}: refused: {}", name, reason);
        fatal.set(reason);
        xs.write(backend + "/error", reason);
        setState(XenbusState.CLOSING);
    }

    /** The frontend left or is refused: the connection is over, and nothing of it is to be taken over. */
    private void disconnect() {
        stopQueues();
        try {
            journals.delete(journalKey);
        } catch (IOException e) {
            LOG.warn("{}: cannot remove the ring journals: {}", name, e.toString());
        }
    }

    private void stopQueues() {
        if (queues.isEmpty()) {
            return;
        }
        // Every queue stops answering and touching the guest before any waits for its device I/O.
        for (RingQueue queue : queues) {
            pump.forget(queue.localPort());
            queue.shutOff();
        }
        // One drain time for the disk, not one per queue; each stop unmaps its queue's pages, so all
        // are gone before the caller writes Closed (blkif.md §5.7).
        long deadline = System.nanoTime() + drainTimeout.toNanos();
        for (RingQueue queue : queues) {
            queue.stop(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        }
        queues = List.of();
        connection = null;
        LOG.info("{}: disconnected from the frontend", name);
    }

    private void teardown() throws IOException {
        disconnect();
        if (state != XenbusState.CLOSED) {
            setState(XenbusState.CLOSED);
        }
        if (xs.readIfExists(backend).isPresent()) {
            xs.rm(backend + "/hotplug-status");
        }
        finished.complete(null);
    }

    private void setState(XenbusState next) throws IOException {
        if (xs.readIfExists(backend).isEmpty()) {
            state = next; // the toolstack removed the backend directory: nothing to write to
            return;
        }
        xs.write(backend + "/state", next.wire());
        state = next;
    }

    /** Stops serving now (blkifd shutting down), without waiting for the frontend. */
    @Override
    public void close() {
        stopping = true;
        if (thread != null) {
            // No interrupt: it could close the shared xenstore channel mid-request. The handshake
            // loop looks at the flag at least once a second.
            try {
                thread.join(DRAIN_TIMEOUT.toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        // The journals stay: requests this process took and will not answer now are answered by a
        // blkifd started after it, if the frontend is still connected then.
        stopQueues();
        finished.complete(null);
    }
}
