package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.spdksr.datapath.blkif.BlkifConstants;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.xen.XenAccess;

/**
 * The block backend of one blkifd: serves virtual disks of qdisk type on
 * {@code /local/domain/0/backend/qdisk/<domid>/<devid>} from {@link BlockDevice}s. Which disk is
 * which volume is decided by the caller (the datapath plugin registers disks); this class runs
 * the handshake and the rings.
 */
public final class BlkifBackendService implements AutoCloseable {
    public static final String BACKEND_TYPE = "qdisk";

    private final XenAccess xen;
    private final BackendFeatures features;
    private final EventPump pump;
    private final Map<String, VbdBackend> disks = new ConcurrentHashMap<>();
    private final RingJournals journals;
    private final BufferPool buffers;
    private final Duration drainTimeout;

    /** With the default buffer budget ({@link BufferSettings#DEFAULT_MIB}); rings not journaled. */
    public BlkifBackendService(XenAccess xen, BackendFeatures features) {
        this(xen, features, BufferSettings.DEFAULT_MIB << 20);
    }

    /**
     * A service whose rings do not outlive this process: a restarted one cannot take them over.
     *
     * @param bufferBudgetBytes the request buffer memory of all disks together; raised to one
     *     largest request if smaller, so that every legal request can be served
     */
    public BlkifBackendService(XenAccess xen, BackendFeatures features, long bufferBudgetBytes) {
        this(xen, features, bufferBudgetBytes, RingJournals.inMemory());
    }

    /**
     * A service that journals its rings in {@code ringJournalDir}, so that a service started there
     * after this process died takes over the frontends still connected (issue 18).
     */
    public BlkifBackendService(XenAccess xen, BackendFeatures features, long bufferBudgetBytes, Path ringJournalDir) {
        this(xen, features, bufferBudgetBytes, RingJournals.in(ringJournalDir));
    }

    /**
     * For tests: in-memory journals, and {@code drainTimeout}: how long a disconnect waits for I/O
     * still in the device; then the guest's pages are unmapped anyway and that I/O's answers are
     * dropped.
     */
    public BlkifBackendService(XenAccess xen, BackendFeatures features, long bufferBudgetBytes, Duration drainTimeout) {
        this(xen, features, bufferBudgetBytes, RingJournals.inMemory(), drainTimeout);
    }

    private BlkifBackendService(XenAccess xen, BackendFeatures features, long bufferBudgetBytes, RingJournals journals) {
        this(xen, features, bufferBudgetBytes, journals, VbdBackend.DRAIN_TIMEOUT);
    }

    private BlkifBackendService(XenAccess xen, BackendFeatures features, long bufferBudgetBytes, RingJournals journals,
            Duration drainTimeout) {
        this.xen = xen;
        this.features = features;
        this.journals = journals;
        this.drainTimeout = drainTimeout;
        this.pump = new EventPump(xen.events(), "blkifd event pump");
        int maxRequest = Math.max(BlkifConstants.MAX_DIRECT_SEGMENTS, features.maxIndirectSegments())
                * BlkifConstants.PAGE_SIZE;
        this.buffers = new BufferPool(maxRequest,
                new BufferBudget(Math.max(bufferBudgetBytes, BufferPool.capacityFor(maxRequest))));
    }

    public static String backendPath(int backendDomid, int frontendDomid, int devid) {
        return "/local/domain/" + backendDomid + "/backend/" + BACKEND_TYPE + "/" + frontendDomid + "/" + devid;
    }

    /** Starts serving the disk; the handshake begins once the toolstack wrote its nodes. */
    public VbdBackend serve(int frontendDomid, int devid, BlockDevice device, boolean readOnly) {
        String path = backendPath(0, frontendDomid, devid);
        VbdBackend vbd = new VbdBackend(xen.xenstore(), xen.grants(), pump, features, path, frontendDomid, device, readOnly,
                journals, buffers, drainTimeout);
        // A finished service may still be listed for a moment (its removal runs after finished()
        // completes): it does not count, so a re-plug right after an unplug is served.
        VbdBackend previous = disks.compute(path, (k, old) -> old != null && !old.finished().isDone() ? old : vbd);
        if (previous != vbd) {
            throw new IllegalStateException("disk " + frontendDomid + "/" + devid + " is already served");
        }
        vbd.finished().whenComplete((v, e) -> disks.remove(path, vbd));
        vbd.start();
        return vbd;
    }

    /** The request buffer memory: budget, use, and how often a ring waited for it. */
    public BufferReport buffers() {
        return buffers.report();
    }

    /** The disks being served: a finished one is left out even before its removal has run. */
    public Map<String, VbdBackend> disks() {
        Map<String, VbdBackend> served = new java.util.HashMap<>();
        disks.forEach((path, vbd) -> {
            if (!vbd.finished().isDone()) {
                served.put(path, vbd);
            }
        });
        return Map.copyOf(served);
    }

    @Override
    public void close() throws IOException {
        disks.values().forEach(VbdBackend::close);
        pump.close();
    }
}
