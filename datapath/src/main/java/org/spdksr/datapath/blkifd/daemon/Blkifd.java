package org.spdksr.datapath.blkifd.daemon;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.blkifd.BlkifBackendService;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.plugin.idl.VolumeUri;

/**
 * The disks of one blkifd (one domain). {@link #reconcile} makes them match {@code state.json}:
 * disks no longer active are deactivated (flushed, closed), newly active ones opened and exported
 * over NBD; for a guest domain {@link QdiskDiscovery} then connects their rings.
 */
final class Blkifd implements BlkifdControl, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Blkifd.class);

    private final String domain;
    private final RunDirectory run;
    private final VolumeDevices devices;
    private final String label;
    private final long startedAt = System.currentTimeMillis();
    private final Map<String, ServedDisk> active = new ConcurrentHashMap<>();
    private final Map<String, String> failures = new ConcurrentHashMap<>();
    private final QdiskDiscovery discovery;
    private final BlkifBackendService rings;
    private final Runnable onShutdown;
    private volatile DomainState state;

    /**
     * @param rings the ring service for a guest domain, or null for a dom0 attachment (NBD only)
     * @param onShutdown run after a {@code shutdown} call has been answered
     */
    Blkifd(String domain, RunDirectory run, VolumeDevices devices, Xenstore xs, BlkifBackendService rings, int domid,
            Runnable onShutdown) {
        this.domain = domain;
        this.devices = devices;
        this.run = run;
        this.label = "blkifd[" + (domain.isEmpty() ? "\"\"" : domain) + "]";
        this.onShutdown = onShutdown;
        this.state = DomainState.empty(domain);
        this.rings = rings;
        this.discovery = rings == null ? null
                : new QdiskDiscovery(xs, rings, domid, id -> Optional.ofNullable(active.get(id)));
        if (discovery != null) {
            discovery.start();
        }
    }

    @Override
    public synchronized DaemonStatus reconcile() {
        try {
            state = DomainState.read(run.stateFile(domain), domain);
        } catch (IOException e) {
            LOG.error("{}: {}", label, e.getMessage());
            return status();
        }
        for (ServedDisk disk : List.copyOf(active.values())) {
            DiskEntry wanted = state.disks().get(disk.entry().id());
            if (wanted == null || !wanted.active() || !Objects.equals(wanted, disk.entry())) {
                deactivate(disk);
            }
        }
        failures.keySet().retainAll(state.disks().keySet());
        for (DiskEntry entry : state.disks().values()) {
            if (!entry.active()) {
                failures.remove(entry.id());
                continue;
            }
            if (active.containsKey(entry.id())) {
                continue;
            }
            try {
                active.put(entry.id(), ServedDisk.open(entry, devices, domain, run.nbdSocket(domain, entry.id()), label));
                failures.remove(entry.id());
            } catch (IOException | RuntimeException e) {
                LOG.error("{} disk {}: activation failed: {}", label, entry.id(), e.getMessage());
                failures.put(entry.id(), e.getMessage() == null ? e.toString() : e.getMessage());
            }
        }
        if (discovery != null) {
            discovery.rescan();
        }
        return status();
    }

    private void deactivate(ServedDisk disk) {
        active.remove(disk.entry().id(), disk);
        Set<Integer> devids = disk.devids();
        disk.close();
        if (discovery != null) {
            discovery.forget(devids);
        }
    }

    @Override
    public DaemonStatus status() {
        List<DaemonStatus.DiskStatus> disks = new ArrayList<>();
        DomainState current = state;
        for (DiskEntry entry : current.disks().values()) {
            ServedDisk served = active.get(entry.id());
            if (served != null) {
                disks.add(served.status());
                continue;
            }
            String error = failures.getOrDefault(entry.id(), "");
            String volume;
            try {
                volume = VolumeDevices.describe(VolumeUri.parse(entry.uri()));
            } catch (IllegalArgumentException e) {
                volume = "?";
            }
            disks.add(new DaemonStatus.DiskStatus(entry.id(), entry.uri(), volume, error.isEmpty() ? "attached" : "failed",
                    entry.readOnly(), entry.overlay() != null, error, "", List.of()));
        }
        return new DaemonStatus(domain, ProcessHandle.current().pid(), startedAt, disks,
                rings == null ? null : rings.buffers());
    }

    @Override
    public DaemonStatus shutdown() {
        DaemonStatus last = status();
        Thread t = new Thread(() -> {
            try {
                Thread.sleep(100); // let the answer leave first
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            onShutdown.run();
        }, label + " shutdown");
        t.start();
        return last;
    }

    @Override
    public synchronized void close() {
        if (discovery != null) {
            discovery.close();
        }
        for (ServedDisk disk : List.copyOf(active.values())) {
            deactivate(disk);
        }
    }
}
