package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
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

    private final Duration drainTimeout;

    public BlkifBackendService(XenAccess xen, BackendFeatures features) {
        this(xen, features, VbdBackend.DRAIN_TIMEOUT);
    }

    /**
     * @param drainTimeout how long a disconnect waits for I/O still in the device; then the guest's
     *     pages are unmapped anyway and that I/O's answers are dropped
     */
    public BlkifBackendService(XenAccess xen, BackendFeatures features, Duration drainTimeout) {
        this.xen = xen;
        this.features = features;
        this.drainTimeout = drainTimeout;
        this.pump = new EventPump(xen.events(), "blkifd event pump");
    }

    public static String backendPath(int backendDomid, int frontendDomid, int devid) {
        return "/local/domain/" + backendDomid + "/backend/" + BACKEND_TYPE + "/" + frontendDomid + "/" + devid;
    }

    /** Starts serving the disk; the handshake begins once the toolstack wrote its nodes. */
    public VbdBackend serve(int frontendDomid, int devid, BlockDevice device, boolean readOnly) {
        String path = backendPath(0, frontendDomid, devid);
        VbdBackend vbd = new VbdBackend(xen.xenstore(), xen.grants(), pump, features, path, frontendDomid, device, readOnly,
                drainTimeout);
        if (disks.putIfAbsent(path, vbd) != null) {
            throw new IllegalStateException("disk " + frontendDomid + "/" + devid + " is already served");
        }
        vbd.finished().whenComplete((v, e) -> disks.remove(path, vbd));
        vbd.start();
        return vbd;
    }

    public Map<String, VbdBackend> disks() {
        return Map.copyOf(disks);
    }

    @Override
    public void close() throws IOException {
        disks.values().forEach(VbdBackend::close);
        pump.close();
    }
}
