package org.spdksr.datapath.blkifd.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.blkifd.VbdBackend;
import org.spdksr.datapath.blkifd.VbdReport;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.nbd.NbdExport;
import org.spdksr.datapath.nbd.NbdServer;
import org.spdksr.datapath.nbd.NbdServerConfig;
import org.spdksr.plugin.idl.VolumeUri;

/**
 * One activated disk in blkifd: its open device, its NBD export on its own unix socket (for dom0
 * consumers, ARCHITECTURE.md §1) and the guest ring connections that {@link QdiskDiscovery} found
 * for it. Closing it (deactivate) stops the rings, stops NBD, flushes and closes the device.
 */
final class ServedDisk implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ServedDisk.class);

    private final DiskEntry entry;
    private final String label;
    private final String volume;
    private final BlockDevice device;
    private final NbdServer nbd;
    private final Map<Integer, VbdBackend> vbds = new ConcurrentHashMap<>();

    private ServedDisk(DiskEntry entry, String label, String volume, BlockDevice device, NbdServer nbd) {
        this.entry = entry;
        this.label = label;
        this.volume = volume;
        this.device = device;
        this.nbd = nbd;
    }

    static ServedDisk open(DiskEntry entry, VolumeDevices devices, String domain, Path nbdSocket, String domainLabel)
            throws IOException {
        VolumeUri uri = VolumeUri.parse(entry.uri());
        String label = domainLabel + " disk " + entry.id();
        boolean readOnly = entry.readOnly() || uri.readOnly();
        BlockDevice device = devices.open(uri, entry.id(), domain, readOnly,
                entry.overlay() == null ? null : Path.of(entry.overlay()));
        try {
            NbdServer nbd = NbdServer.start(nbdSocket, NbdServerConfig.defaults(), List.of(new NbdExport(entry.id(),
                    label + " (" + VolumeDevices.describe(uri) + ")", device, readOnly, NbdExport.Ownership.CALLER)));
            LOG.info("{}: active{}{} on {}, NBD at {}", label, readOnly ? ", read-only" : "",
                    entry.overlay() != null ? ", non-persistent" : "", VolumeDevices.describe(uri), nbdSocket);
            return new ServedDisk(entry, label, VolumeDevices.describe(uri), device, nbd);
        } catch (IOException | RuntimeException e) {
            device.close();
            throw e;
        }
    }

    DiskEntry entry() {
        return entry;
    }

    String label() {
        return label;
    }

    BlockDevice device() {
        return device;
    }

    boolean readOnly() {
        return entry.readOnly() || VolumeUri.parse(entry.uri()).readOnly();
    }

    String nbdUri() {
        return "nbd:unix:" + nbd.socketPath() + ":exportname=" + entry.id();
    }

    java.util.Set<Integer> devids() {
        return java.util.Set.copyOf(vbds.keySet());
    }

    void addVbd(int devid, VbdBackend vbd) {
        vbds.put(devid, vbd);
    }

    void removeVbd(int devid, VbdBackend vbd) {
        vbds.remove(devid, vbd);
    }

    DaemonStatus.DiskStatus status() {
        return new DaemonStatus.DiskStatus(entry.id(), entry.uri(), volume, "active", readOnly(),
                entry.overlay() != null, "", nbdUri(), vbds.values().stream().map(VbdReport::of).toList());
    }

    /** Deactivate: the guest's I/O stops, everything written is flushed, the device is released. */
    @Override
    public void close() {
        vbds.values().forEach(VbdBackend::close);
        vbds.clear();
        nbd.close();
        try {
            device.flush().get(60, TimeUnit.SECONDS);
        } catch (Exception e) {
            LOG.error("{}: flush at deactivate failed: {}", label, e.toString());
        }
        device.close();
        LOG.info("{}: deactivated", label);
    }
}
