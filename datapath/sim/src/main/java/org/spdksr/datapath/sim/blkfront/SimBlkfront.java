package org.spdksr.datapath.sim.blkfront;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreOps;
import org.spdksr.datapath.xen.xenstore.XenstoreWatch;

/**
 * A simulated guest's blkfront for one VBD: the frontend half of the handshake (blkif.md §5.5,
 * §5.6), its queues and rings, an asynchronous request API, disconnect and reconnect (§5.7), and
 * the hook for the hostile primitives ({@link #hostile()}). It runs in the guest's process and
 * reaches Xen only through the guest's {@link SimGuest}.
 */
public final class SimBlkfront implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SimBlkfront.class);
    public static final int SECTOR = 512;
    public static final int PAGE = 4096;

    private final SimGuest guest;
    private final Xenstore xs;
    private final FrontOptions options;
    private final int devid;
    private final String frontend;
    private final List<String> violations = new CopyOnWriteArrayList<>();
    private final AtomicInteger roundRobin = new AtomicInteger();

    private volatile String backend;
    private volatile int backendDomid;
    private volatile List<FrontQueue> queues = List.of();
    private volatile int ringOrder;
    private volatile BackendInfo info;
    private volatile long sectors;
    private volatile boolean persistentInUse;
    private volatile int indirectSegments;
    private volatile RequestEncoder encoder;
    private volatile CompletableFuture<Void> disconnection = CompletableFuture.completedFuture(null);

    public SimBlkfront(SimGuest guest, int devid, FrontOptions options) {
        this.guest = guest;
        this.xs = guest.domain().xenstore();
        this.options = options;
        this.devid = devid;
        this.frontend = guest.domain().home() + "/device/vbd/" + devid;
    }

    public String frontendPath() {
        return frontend;
    }

    public String backendPath() {
        return backend;
    }

    public int backendDomid() {
        return backendDomid;
    }

    public FrontOptions options() {
        return options;
    }

    public SimGuest guest() {
        return guest;
    }

    // ---- handshake ----------------------------------------------------------------------------

    /**
     * Runs the frontend half of the handshake (§5.6 steps 3 and 5): waits for InitWait (unless told
     * to skip ahead), sets up the rings and event channels, writes its keys in one transaction,
     * goes to Initialised, waits for Connected, reads the disk's properties and goes to Connected.
     */
    public synchronized BackendInfo connect() throws IOException, InterruptedException, TimeoutException {
        if (!queues.isEmpty()) {
            throw new IllegalStateException("blkfront " + frontend + " is already connected; disconnect first");
        }
        backend = xs.readString(frontend + "/backend");
        backendDomid = Integer.parseInt(xs.readString(frontend + "/backend-id").trim());
        int order = options.ignoreBackendLimits() ? options.ringOrder() : 0;
        int nq = options.ignoreBackendLimits() ? options.queues() : 1;
        if (options.waitForInitWait()) {
            awaitBackend(s -> s == XenbusState.INIT_WAIT, "InitWait (2)");
            if (!options.ignoreBackendLimits()) {
                order = (int) Math.min(options.ringOrder(),
                        BackendInfo.number(xs, backend, "max-ring-page-order").orElse(0L));
                nq = (int) Math.min(options.queues(),
                        BackendInfo.number(xs, backend, "multi-queue-max-queues").orElse(1L));
            }
        }
        ringOrder = order;
        encoder = new RequestEncoder(options.abi(), devid);
        List<FrontQueue> made = new ArrayList<>();
        try {
            for (int i = 0; i < nq; i++) {
                made.add(new FrontQueue(i, guest, backendDomid, encoder, order, violations::add));
            }
            writeFrontendKeys(made, order);
            setState(XenbusState.INITIALISED);
            XenbusState s = awaitBackend(b -> b == XenbusState.CONNECTED || b == XenbusState.CLOSING
                    || b == XenbusState.CLOSED, "Connected (4)");
            if (s != XenbusState.CONNECTED) {
                throw new IOException("backend " + backend + " went to " + s + " instead of Connected");
            }
            BackendInfo bi = BackendInfo.read(xs, backend);
            info = bi;
            sectors = bi.sectors();
            persistentInUse = options.persistentGrants() && bi.persistent();
            indirectSegments = options.indirect() == FrontOptions.IndirectPolicy.NEVER ? 0
                    : Math.min(options.maxIndirectSegments(), bi.maxIndirectSegments());
            disconnection = new CompletableFuture<>();
            queues = List.copyOf(made);
            setState(XenbusState.CONNECTED);
        } catch (IOException | InterruptedException | TimeoutException | RuntimeException e) {
            made.forEach(q -> q.teardown(new IOException("handshake of " + frontend + " failed", e)));
            queues = List.of();
            throw e;
        }
        startMonitor();
        return info;
    }

    private void writeFrontendKeys(List<FrontQueue> made, int order) throws IOException {
        xs.transaction(tx -> {
            for (String child : tx.directory(frontend)) {
                // Leftovers of an earlier connection (§5.5 keys) must not confuse the backend.
                if (child.startsWith("ring-ref") || child.startsWith("queue-") || child.equals("ring-page-order")
                        || child.equals("num-ring-pages") || child.equals("multi-queue-num-queues")
                        || child.equals("event-channel") || child.equals("protocol")) {
                    tx.rm(frontend + "/" + child);
                }
            }
            if (made.size() == 1) {
                writeQueueKeys(tx, frontend, made.get(0), order);
            } else {
                tx.write(frontend + "/multi-queue-num-queues", Integer.toString(made.size()));
                for (FrontQueue q : made) {
                    writeQueueKeys(tx, frontend + "/queue-" + q.index(), q, order);
                }
            }
            if (order > 0) {
                tx.write(frontend + "/ring-page-order", Integer.toString(order));
            }
            if (options.writeProtocolKey()) {
                tx.write(frontend + "/protocol", options.abi().protocolName());
            }
            tx.write(frontend + "/feature-persistent", options.persistentGrants() ? "1" : "0");
            for (Map.Entry<String, String> e : options.keyOverrides().entrySet()) {
                if (e.getValue() == null) {
                    tx.rm(frontend + "/" + e.getKey());
                } else {
                    tx.write(frontend + "/" + e.getKey(), e.getValue());
                }
            }
            return null;
        });
    }

    private static void writeQueueKeys(XenstoreOps tx, String dir, FrontQueue q, int order) throws IOException {
        List<Integer> refs = q.ringRefs();
        if (order == 0) {
            tx.write(dir + "/ring-ref", Integer.toString(refs.get(0)));
        } else {
            for (int i = 0; i < refs.size(); i++) {
                tx.write(dir + "/ring-ref" + i, Integer.toString(refs.get(i)));
            }
        }
        tx.write(dir + "/event-channel", Integer.toString(q.port()));
    }

    private XenbusState awaitBackend(java.util.function.Predicate<XenbusState> until, String what)
            throws IOException, InterruptedException, TimeoutException {
        Optional<String> v = XenstoreWaits.await(xs, backend + "/state", s -> until.test(XenbusState.parse(s)),
                what, options.timeout());
        return XenbusState.parse(v);
    }

    public void setState(XenbusState s) throws IOException {
        xs.write(frontend + "/state", s.wire());
    }

    public XenbusState state() throws IOException {
        return XenbusState.parse(xs.readIfExists(frontend + "/state"));
    }

    public XenbusState backendState() throws IOException {
        return XenbusState.parse(xs.readIfExists(backend + "/state"));
    }

    /** Watches the backend: follows its Closing (§5.7) and an online resize (rewritten {@code sectors}, §5.4). */
    private void startMonitor() throws IOException {
        XenstoreWatch w = xs.watch(backend + "/state");
        List<FrontQueue> mine = queues;
        Thread t = new Thread(() -> {
            try (w) {
                while (queues == mine && !mine.isEmpty()) {
                    if (w.next(Duration.ofMillis(200)).isEmpty()) {
                        continue;
                    }
                    XenbusState s = backendState();
                    if (s == XenbusState.CONNECTED) {
                        BackendInfo.number(xs, backend, "sectors").ifPresent(v -> sectors = v);
                    } else if ((s == XenbusState.CLOSING || s == XenbusState.CLOSED || s == XenbusState.UNKNOWN)
                            && options.followBackendClose()) {
                        disconnectIf(mine, options.timeout());
                        return;
                    }
                }
            } catch (IOException | InterruptedException | TimeoutException e) {
                LOG.debug("monitor of {} stopped: {}", frontend, e.getMessage());
            }
        }, "sim-blkfront-monitor-" + devid);
        t.setDaemon(true);
        t.start();
    }

    // ---- disconnect and reconnect ---------------------------------------------------------

    /**
     * Closes the device as a frontend does (§5.7): Closing, wait for the backend to follow,
     * Closed, wait for the backend's Closed, then end every grant and free the rings. In-flight
     * requests fail. Waits that time out are not fatal: the frontend tears down anyway.
     *
     * @return whether the backend reached Closed (or went away) in time
     */
    public boolean disconnect(Duration timeout) throws IOException, InterruptedException {
        try {
            return disconnectIf(queues, timeout);
        } catch (TimeoutException e) {
            return false;
        }
    }

    private synchronized boolean disconnectIf(List<FrontQueue> expected, Duration timeout)
            throws IOException, InterruptedException, TimeoutException {
        if (queues != expected || expected.isEmpty()) {
            return true;
        }
        queues = List.of();
        boolean closed = false;
        try {
            if (xs.readIfExists(frontend).isEmpty()) {
                // Hard unplug: the toolstack deleted our directory; writing state would recreate it.
                return true;
            }
            setState(XenbusState.CLOSING);
            awaitBackendQuietly(b -> b.ordinal() >= XenbusState.CLOSING.ordinal() || b == XenbusState.UNKNOWN,
                    timeout);
            setState(XenbusState.CLOSED);
            closed = awaitBackendQuietly(b -> b == XenbusState.CLOSED || b == XenbusState.UNKNOWN, timeout);
        } finally {
            IOException cause = new IOException("blkfront " + frontend + " disconnected");
            expected.forEach(q -> q.teardown(cause));
            disconnection.complete(null);
        }
        return closed;
    }

    private boolean awaitBackendQuietly(java.util.function.Predicate<XenbusState> until, Duration timeout)
            throws IOException, InterruptedException {
        try {
            XenstoreWaits.await(xs, backend + "/state", s -> until.test(XenbusState.parse(s)), "", timeout);
            return true;
        } catch (TimeoutException e) {
            LOG.debug("backend {} did not follow: {}", backend, e.getMessage());
            return false;
        }
    }

    /**
     * A rebooting guest (§5.7): back to Initialising with fresh rings, then the whole handshake
     * again. Call after {@link #disconnect}.
     */
    public BackendInfo reconnect() throws IOException, InterruptedException, TimeoutException {
        if (!queues.isEmpty()) {
            throw new IllegalStateException("blkfront " + frontend + " is connected; disconnect first");
        }
        setState(XenbusState.INITIALISING);
        return connect();
    }

    /**
     * Completes when the current connection is fully torn down (grants ended, rings freed), whether
     * the guest or the backend started the close. Already complete when not connected.
     */
    public CompletableFuture<Void> disconnection() {
        return disconnection;
    }

    public boolean connected() {
        return !queues.isEmpty();
    }

    // ---- what was negotiated ----------------------------------------------------------------

    public BackendInfo backendInfo() {
        return info;
    }

    /** The capacity in 512-byte sectors, updated on an online resize. */
    public long sectors() {
        return sectors;
    }

    public int queueCount() {
        return queues.size();
    }

    public int ringOrder() {
        return ringOrder;
    }

    public int ringEntries() {
        return FrontRing.entries(options.abi(), ringOrder);
    }

    public boolean persistentGrantsInUse() {
        return persistentInUse;
    }

    /** Segments per indirect request in use; 0 when indirect requests are off. */
    public int indirectSegments() {
        return indirectSegments;
    }

    /** Everything the backend did wrong as this frontend saw it (unknown ids, wrong echoed op, ...). */
    public List<String> protocolViolations() {
        return List.copyOf(violations);
    }

    /** Requests in flight or waiting for a slot, over all queues. */
    public int inFlight() {
        return queues.stream().mapToInt(FrontQueue::inFlight).sum();
    }

    /** Each queue's ring indices and requests in flight, for a test's failure report. */
    public String describeQueues() {
        return String.join("; ", queues.stream().map(FrontQueue::describe).toList());
    }

    /** Granted pages kept in the persistent pools, over all queues. */
    public int persistentGrants() {
        return queues.stream().mapToInt(FrontQueue::persistentGrants).sum();
    }

    FrontQueue queue(int q) {
        List<FrontQueue> qs = queues;
        if (qs.isEmpty()) {
            throw new IllegalStateException("blkfront " + frontend + " is not connected");
        }
        if (q < 0 || q >= qs.size()) {
            throw new IndexOutOfBoundsException("queue " + q + " of " + qs.size() + " on " + frontend);
        }
        return qs.get(q);
    }

    RequestEncoder encoder() {
        return encoder;
    }

    // ---- the request API --------------------------------------------------------------------

    /**
     * Issues an operation on {@code queue}. For READ, {@code data.length} bytes are read (the
     * array's content is ignored) and returned in {@link Response#data()}; for the others,
     * {@code data} is written (empty for a pure flush or barrier). The data starts at sector
     * {@code firstSect} of its first page, like an unaligned guest buffer.
     */
    public CompletableFuture<Response> submit(int queue, Operation op, long sector, byte[] data, int firstSect) {
        if (data.length % SECTOR != 0) {
            throw new IllegalArgumentException(data.length + " bytes is not a whole number of sectors");
        }
        if (firstSect < 0 || firstSect > 7) {
            throw new IllegalArgumentException("first sector " + firstSect + " outside a page");
        }
        if (data.length == 0 && (op == Operation.READ || op == Operation.WRITE)) {
            throw new IllegalArgumentException(op + " needs data");
        }
        FrontQueue q = queue(queue);
        int pages = data.length == 0 ? 0 : (firstSect * SECTOR + data.length + PAGE - 1) / PAGE;
        boolean rw = op == Operation.READ || op == Operation.WRITE;
        boolean useIndirect = rw && indirectSegments > 0 && (pages > RequestEncoder.MAX_SLOT_SEGMENTS
                || options.indirect() == FrontOptions.IndirectPolicy.ALWAYS);
        if (!useIndirect && pages > RequestEncoder.MAX_SLOT_SEGMENTS) {
            throw new IllegalArgumentException(pages + " pages need an indirect request, and "
                    + (rw ? "indirect is off or not offered" : op + " is never sent indirect") + "; split it");
        }
        if (useIndirect && pages > indirectSegments) {
            throw new IllegalArgumentException(pages + " segments exceed the " + indirectSegments
                    + " indirect segments in use; split it");
        }
        boolean persistent = persistentInUse;
        boolean readOnlyGrant = op.writesDisk() && options.readOnlyWriteGrants();
        long id = q.newId();
        byte[] copy = data.clone();
        return q.submit(id, () -> prepare(q, op, id, sector, copy, firstSect, pages, useIndirect, persistent,
                readOnlyGrant));
    }

    /** Builds the request when it gets its slot: data pages, grants, descriptors (§1.3, §1.6, §2.3). */
    private FrontQueue.Prepared prepare(FrontQueue q, Operation op, long id, long sector, byte[] data,
            int firstSect, int pages, boolean useIndirect, boolean persistent, boolean readOnlyGrant) {
        List<GrantedPage> dataPages = new ArrayList<>(pages);
        List<SegmentDescriptor> segs = new ArrayList<>(pages);
        int start = firstSect * SECTOR;
        int end = start + data.length;
        for (int i = 0; i < pages; i++) {
            GrantedPage p = q.takeDataPage(persistent, readOnlyGrant);
            dataPages.add(p);
            int from = i == 0 ? start : 0;
            int to = Math.min(PAGE, end - i * PAGE);
            if (op.writesDisk()) {
                guest.pages().page(p.frame()).put(from, data, i * PAGE + from - start, to - from);
            }
            segs.add(new SegmentDescriptor(p.gref(), from / SECTOR, (to - 1) / SECTOR));
        }
        List<GrantedPage> descriptorPages = new ArrayList<>();
        FrontRequest request;
        if (useIndirect) {
            List<Integer> grefs = new ArrayList<>();
            for (int at = 0; at < segs.size(); at += RequestEncoder.SEGMENTS_PER_PAGE) {
                // Descriptor pages are granted read-only, as Windows does (§1.6).
                int frame = guest.pages().allocate(1);
                GrantedPage dp = new GrantedPage(frame, guest.domain().grant(frame, backendDomid, true));
                RequestEncoder.encodeDescriptors(segs.subList(at, Math.min(segs.size(),
                        at + RequestEncoder.SEGMENTS_PER_PAGE)), guest.pages().page(frame), 0);
                descriptorPages.add(dp);
                grefs.add(dp.gref());
            }
            request = new FrontRequest.Indirect(op.code(), id, sector, segs.size(), grefs);
        } else {
            request = new FrontRequest.ReadWrite(op.code(), id, sector, segs);
        }
        int length = data.length;
        return new FrontQueue.Prepared(encoder.encode(request), request.responseOperation(), r -> {
            if (op != Operation.READ || !r.ok()) {
                return r;
            }
            byte[] out = new byte[length];
            for (int i = 0; i < dataPages.size(); i++) {
                int from = i == 0 ? start : 0;
                int to = Math.min(PAGE, end - i * PAGE);
                guest.pages().page(dataPages.get(i).frame()).get(from, out, i * PAGE + from - start, to - from);
            }
            return r.withData(out);
        }, () -> {
            for (GrantedPage p : dataPages) {
                q.returnDataPage(p, persistent);
            }
            for (GrantedPage dp : descriptorPages) {
                guest.domain().revoke(dp.gref());
                guest.pages().free(dp.frame(), 1);
            }
        });
    }

    public CompletableFuture<Response> submit(int queue, Operation op, long sector, byte[] data) {
        return submit(queue, op, sector, data, 0);
    }

    /** BLKIF_OP_DISCARD of {@code count} sectors; {@code secure} sets BLKIF_DISCARD_SECURE. */
    public CompletableFuture<Response> discard(int queue, long sector, long count, boolean secure) {
        FrontQueue q = queue(queue);
        long id = q.newId();
        FrontRequest.Discard d = new FrontRequest.Discard(id, sector, count, secure);
        return q.submit(encoder.encode(d), id, d.responseOperation(), r -> r, () -> { });
    }

    private int nextQueue() {
        int n = queues.size();
        return n <= 1 ? 0 : Math.floorMod(roundRobin.getAndIncrement(), n);
    }

    public CompletableFuture<Response> read(long sector, int bytes) {
        return submit(nextQueue(), Operation.READ, sector, new byte[bytes]);
    }

    public CompletableFuture<Response> write(long sector, byte[] bytes) {
        return submit(nextQueue(), Operation.WRITE, sector, bytes);
    }

    /** An empty FLUSH_DISKCACHE. */
    public CompletableFuture<Response> flush() {
        return submit(nextQueue(), Operation.FLUSH_DISKCACHE, 0, new byte[0]);
    }

    public CompletableFuture<Response> discard(long sector, long count) {
        return discard(nextQueue(), sector, count, false);
    }

    /** The hostile primitives on this frontend (robustness tests only). */
    public HostileFront hostile() {
        return new HostileFront(this);
    }

    /** Disconnects (if connected) without waiting long for the backend. */
    @Override
    public void close() throws IOException {
        try {
            disconnect(Duration.ofSeconds(2));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
