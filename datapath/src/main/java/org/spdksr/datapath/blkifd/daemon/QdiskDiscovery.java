package org.spdksr.datapath.blkifd.daemon;

import java.io.IOException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.blkifd.BlkifBackendService;
import org.spdksr.datapath.blkifd.VbdBackend;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreException;
import org.spdksr.datapath.xen.xenstore.XenstoreWatch;
import org.spdksr.datapath.xen.xenstore.XsError;

/**
 * Finds the guest's disks that are ours: xenopsd writes every VBD of the guest under
 * {@code /local/domain/0/backend/qdisk/<domid>/<devid>} with the XenDisk {@code extra} map as
 * {@code sm-data/<k>} (smapiv3.md §7.2 items 1 and 4). A devid whose {@code sm-data/spdk-sr-disk}
 * names an active disk is handed to {@link BlkifBackendService#serve}, which runs the handshake.
 *
 * <p>A devid whose backend finished (unplugged) is not served again while its directory remains
 * (xenopsd removes it after {@code hotplug-status} goes, blkif.md §5.7), unless the toolstack
 * writes it afresh ({@code state=1}, a re-plug).
 */
final class QdiskDiscovery implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(QdiskDiscovery.class);
    static final String SM_DATA_KEY = "spdk-sr-disk";

    private final Xenstore xs;
    private final BlkifBackendService rings;
    private final int domid;
    private final String path;
    private final Function<String, Optional<ServedDisk>> activeDisk;
    private final Map<Integer, VbdBackend> served = new HashMap<>();
    private final Set<Integer> finished = new HashSet<>();
    private final Thread thread;
    private volatile boolean open = true;

    QdiskDiscovery(Xenstore xs, BlkifBackendService rings, int domid, Function<String, Optional<ServedDisk>> activeDisk) {
        this.xs = xs;
        this.rings = rings;
        this.domid = domid;
        this.path = "/local/domain/0/backend/" + BlkifBackendService.BACKEND_TYPE + "/" + domid;
        this.activeDisk = activeDisk;
        this.thread = new Thread(this::run, "blkifd d" + domid + " discovery");
        this.thread.setDaemon(true);
    }

    void start() {
        thread.start();
    }

    private void run() {
        while (open) {
            try (XenstoreWatch watch = xs.watch(path)) {
                while (open) {
                    if (watch.next(Duration.ofSeconds(1)).isPresent()) {
                        rescan();
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (IOException | RuntimeException e) {
                if (open) {
                    LOG.error("domain {}: watching {} failed: {}; retrying", domid, path, e.toString());
                    try {
                        Thread.sleep(1000);
                    } catch (InterruptedException ie) {
                        return;
                    }
                }
            }
        }
    }

    /** Looks at every devid once; called on watch events and after each reconcile. */
    synchronized void rescan() {
        if (!open) {
            return;
        }
        List<String> devids;
        try {
            devids = xs.directory(path);
        } catch (XenstoreException e) {
            if (e.error() == XsError.ENOENT) {
                finished.clear();
                return;
            }
            LOG.warn("domain {}: cannot list {}: {}", domid, path, e.toString());
            return;
        } catch (IOException e) {
            LOG.warn("domain {}: cannot list {}: {}", domid, path, e.toString());
            return;
        }
        Set<Integer> present = new HashSet<>();
        for (String name : devids) {
            int devid;
            try {
                devid = Integer.parseInt(name);
            } catch (NumberFormatException e) {
                continue;
            }
            present.add(devid);
            if (!served.containsKey(devid)) {
                try {
                    consider(devid);
                } catch (IOException | RuntimeException e) {
                    LOG.warn("domain {} device {}: cannot start serving: {}", domid, devid, e.toString());
                }
            }
        }
        finished.retainAll(present);
    }

    private void consider(int devid) throws IOException {
        String backend = path + "/" + devid;
        Optional<String> diskId = xs.readIfExists(backend + "/sm-data/" + SM_DATA_KEY);
        if (diskId.isEmpty()) {
            return; // not ours (another SR's qdisk), or xenopsd has not written it yet
        }
        if (finished.contains(devid) && !xs.readIfExists(backend + "/state").orElse("").trim().equals("1")) {
            return; // unplugged, directory not yet removed
        }
        Optional<ServedDisk> disk = activeDisk.apply(diskId.get().trim());
        if (disk.isEmpty()) {
            LOG.info("domain {} device {}: disk {} is not active yet; waiting for Datapath.activate", domid, devid,
                    diskId.get());
            return;
        }
        ServedDisk d = disk.get();
        VbdBackend vbd = rings.serve(domid, devid, d.device(), d.readOnly());
        served.put(devid, vbd);
        finished.remove(devid);
        d.addVbd(devid, vbd);
        LOG.info("domain {} device {}: serving {}", domid, devid, d.label());
        vbd.finished().whenComplete((v, e) -> ended(devid, vbd, d));
    }

    private synchronized void ended(int devid, VbdBackend vbd, ServedDisk disk) {
        if (served.remove(devid, vbd)) {
            finished.add(devid);
        }
        disk.removeVbd(devid, vbd);
        LOG.info("domain {} device {}: ring service of {} ended", domid, devid, disk.label());
    }

    /** The datapath deactivated a disk: a later activation may serve its devids again. */
    synchronized void forget(Set<Integer> devids) {
        finished.removeAll(devids);
    }

    @Override
    public void close() {
        open = false;
        thread.interrupt();
    }
}
