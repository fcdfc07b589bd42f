package org.spdksr.datapath.attach;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.blkifd.daemon.ControlClient;
import org.spdksr.datapath.blkifd.daemon.DaemonStatus;
import org.spdksr.datapath.blkifd.daemon.DiskEntry;
import org.spdksr.datapath.blkifd.daemon.DomainState;
import org.spdksr.datapath.blkifd.daemon.RunDirectory;
import org.spdksr.datapath.device.OverlayBlockDevice;
import org.spdksr.datapath.spdk.LvolController;
import org.spdksr.datapath.containment.SrContainment;
import org.spdksr.plugin.host.AttachedSrs;
import org.spdksr.plugin.idl.Backend;
import org.spdksr.plugin.idl.Implementation;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;

/**
 * The Datapath methods (smapiv3.md §4.6) over blkifd. Every method is idempotent and keyed by
 * (volume, domain): the domain's disks are recorded in its {@code state.json} under the domain
 * lock, then blkifd is told to reconcile; activations are recorded host-wide under the volumes
 * lock. Lock order: volumes, then domain, never the other way round.
 */
public final class Attachments {
    private static final Logger LOG = LoggerFactory.getLogger(Attachments.class);
    /** The {@code extra} key xenopsd writes as {@code sm-data/spdk-sr-disk} (§7.2 item 1). */
    public static final String SM_DATA_DISK = "spdk-sr-disk";
    private static final Duration RECONCILE = Duration.ofSeconds(120);

    private final RunDirectory run;
    private final Map<String, String> env;
    private final BlkifdProcesses processes;
    private final VolumeResolver resolver;

    public Attachments(RunDirectory run, Map<String, String> env) {
        this.run = run;
        this.env = env;
        this.processes = new BlkifdProcesses(run, env);
        this.resolver = new VolumeResolver(new SrContainment(AttachedSrs.besideRunDirectory(env, run.root())));
    }

    public static Attachments fromEnvironment() {
        return new Attachments(RunDirectory.from(System.getenv()), System.getenv());
    }

    /** Registers the disk with the domain's blkifd (starting it) and says how to reach it (§7.2). */
    public Backend attach(String uriText, String domain) throws IOException {
        VolumeUri uri = resolve("Datapath.attach", uriText);
        String id = DiskIds.of(uri);
        FileLocks.with(run.domainLock(domain), () -> {
            DomainState state = DomainState.read(run.stateFile(domain), domain);
            if (!state.disks().containsKey(id)) {
                state.with(new DiskEntry(id, uriText, false, false, null)).write(run.stateFile(domain));
            }
            processes.ensureRunning(domain).reconcile(RECONCILE);
            return null;
        });
        LOG.info("attach: volume {} (disk {}) to domain '{}'", uri.key(), id, domain);
        // qemu-params = params (there is no BlockDevice/File): one word, not vdi:<uuid>, so neither
        // qemu nor XCP-ng's qemuback claims the disk (§7.2 items 2, 3 and the qdisk row).
        return new Backend(List.of(
                new Implementation.XenDisk("spdk-sr:" + id, Map.of(SM_DATA_DISK, id), "qdisk"),
                new Implementation.Nbd("nbd:unix:" + run.nbdSocket(domain, id) + ":exportname=" + id)));
    }

    public void activate(String uriText, String domain, boolean readOnly) throws IOException {
        String method = readOnly ? "Datapath.activate_readonly" : "Datapath.activate";
        VolumeUri uri = resolve(method, uriText);
        String id = DiskIds.of(uri);
        Path overlay = FileLocks.with(run.volumesLock(), () -> {
            VolumeRecord record = VolumeRecord.read(run.volumeRecord(id));
            if (!readOnly && record.readWrite() != null && !record.readWrite().equals(domain)) {
                throw new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE_24", "VDIInUse", uri.key()),
                        "volume " + uri.key() + " of SR " + uri.srUuid() + " is already active read-write for domain '"
                                + record.readWrite() + "' on this host, so domain '" + domain
                                + "' cannot activate it read-write too. Stop the other VM or unplug its disk first.");
            }
            record.claim(domain, readOnly).write(run.volumeRecord(id));
            return record.nonPersistent() ? run.overlayFile(env, id) : null;
        });
        try {
            DaemonStatus.DiskStatus disk = FileLocks.with(run.domainLock(domain), () -> {
                DomainState state = DomainState.read(run.stateFile(domain), domain);
                DiskEntry entry = state.disks().getOrDefault(id, new DiskEntry(id, uriText, false, false, null));
                state.with(entry.activated(readOnly, overlay == null ? null : overlay.toString()))
                        .write(run.stateFile(domain));
                return processes.ensureRunning(domain).reconcile(RECONCILE).disk(id);
            });
            if (disk == null || !disk.state().equals("active")) {
                throw new IOException(disk == null ? "blkifd does not list the disk" : disk.error());
            }
        } catch (IOException | RuntimeException e) {
            undoActivation(id, domain);
            if (e instanceof SmapiException s) {
                throw s;
            }
            throw new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE_46", "Activation_failed",
                    uri.key()), method + " of volume " + uri.key() + " for domain '" + domain + "' failed: "
                    + e.getMessage() + ". The disk stays attached but inactive; fix the cause and start the VM again.", e);
        }
        LOG.info("{}: volume {} (disk {}) active for domain '{}'", method, uri.key(), id, domain);
    }

    private void undoActivation(String id, String domain) {
        try {
            deactivateDisk(id, domain);
        } catch (IOException | RuntimeException e) {
            LOG.warn("undoing a failed activation of disk {} for domain '{}': {}", id, domain, e.toString());
        }
    }

    /** Flushes and stops I/O for the disk; the disk stays registered with blkifd. */
    public void deactivate(String uriText, String domain) throws IOException {
        VolumeUri uri = parse("Datapath.deactivate", uriText);
        String id = DiskIds.of(uri);
        String holder = new HolderOfDisk(run).resolve(domain, id, DiskEntry::active, readWriteClaimant(id));
        deactivateDisk(id, holder);
        LOG.info("deactivate: volume {} for domain '{}'{}", uri.key(), holder,
                holder.equals(domain) ? "" : " (the call named domain '" + domain + "', which holds nothing)");
    }

    private String readWriteClaimant(String id) throws IOException {
        return FileLocks.with(run.volumesLock(), () -> VolumeRecord.read(run.volumeRecord(id)).readWrite());
    }

    private void deactivateDisk(String id, String domain) throws IOException {
        FileLocks.with(run.domainLock(domain), () -> {
            DomainState state = DomainState.read(run.stateFile(domain), domain);
            DiskEntry entry = state.disks().get(id);
            if (entry != null && entry.active()) {
                state.with(entry.deactivated()).write(run.stateFile(domain));
                Optional<ControlClient> blkifd = processes.runningOrRestarting(domain);
                if (blkifd.isPresent()) {
                    blkifd.get().reconcile(RECONCILE);
                }
                // Also after a reconcile: a blkifd restarted after a kill that read this state
                // first never opened the disk, so it cannot release what its predecessor made.
                releaseOrphanedExport(entry, domain);
            }
            return null;
        });
        release(id, domain);
    }

    /**
     * blkifd deletes an lvol's vhost controller when it closes the disk; one that died (SIGKILL,
     * OOM) left the controller behind, so deactivate deletes it here instead of leaving it to the
     * next activation of the same disk by the same domain. One already deleted costs one RPC.
     */
    private static void releaseOrphanedExport(DiskEntry entry, String domain) {
        try {
            if (VolumeUri.parse(entry.uri()) instanceof VolumeUri.SpdkLvol lvol) {
                new LvolController(lvol, entry.id(), domain, entry.readOnly()).release();
            }
        } catch (IllegalArgumentException e) {
            LOG.warn("deactivate: disk {} has an unreadable URI: {}", entry.id(), e.getMessage());
        }
    }

    private void release(String id, String domain) throws IOException {
        FileLocks.with(run.volumesLock(), () -> {
            VolumeRecord.read(run.volumeRecord(id)).release(domain).write(run.volumeRecord(id));
            return null;
        });
    }

    /**
     * Removes the disk from the domain's blkifd and stops blkifd after the domain's last disk.
     * Never fails (§4.6): a problem is logged and the state is cleaned up regardless.
     */
    public void detach(String uriText, String domain) {
        String id;
        try {
            id = DiskIds.of(VolumeUri.parse(uriText));
        } catch (IllegalArgumentException e) {
            LOG.warn("detach: ignoring a URI that is not ours: {}", e.getMessage());
            return;
        }
        String holder = detachHolder(id, domain);
        try {
            FileLocks.with(run.domainLock(holder), () -> {
                DomainState state = DomainState.read(run.stateFile(holder), holder).without(id);
                if (state.disks().isEmpty()) {
                    Files.deleteIfExists(run.stateFile(holder));
                    processes.stop(holder);
                } else {
                    state.write(run.stateFile(holder));
                    Optional<ControlClient> blkifd = processes.runningOrRestarting(holder);
                    if (blkifd.isPresent()) {
                        blkifd.get().reconcile(RECONCILE);
                    }
                }
                return null;
            });
        } catch (IOException | RuntimeException e) {
            LOG.error("detach of disk {} from domain '{}' had a problem (ignored, detach never fails): {}", id, holder,
                    e.toString());
        }
        try {
            release(id, holder);
        } catch (IOException | RuntimeException e) {
            LOG.error("detach: cannot release the activation record of disk {}: {}", id, e.toString());
        }
        LOG.info("detach: disk {} from domain '{}'", id, holder);
    }

    /** The domain whose disk a detach removes; detach never fails, so neither does this. */
    private String detachHolder(String id, String domain) {
        try {
            String holder = new HolderOfDisk(run).resolve(domain, id, entry -> true, readWriteClaimant(id));
            if (!holder.equals(domain)) {
                LOG.info("detach: disk {} is held by domain '{}', not by the domain '{}' the call named", id, holder,
                        domain);
            }
            return holder;
        } catch (IOException | RuntimeException e) {
            LOG.warn("detach: cannot tell which domain holds disk {}: {}", id, e.toString());
            return domain;
        }
    }

    /** {@code persistent=false}: the next activation writes to a fresh overlay (feature NONPERSISTENT, §8). */
    public void open(String uriText, boolean persistent) throws IOException {
        VolumeUri uri = resolve("Datapath.open", uriText);
        String id = DiskIds.of(uri);
        FileLocks.with(run.volumesLock(), () -> {
            VolumeRecord record = VolumeRecord.read(run.volumeRecord(id));
            if (!persistent && !record.activeAnywhere()) {
                dropOverlay(id); // a leftover of an epoch whose close never came
            }
            record.withNonPersistent(!persistent).write(run.volumeRecord(id));
            return null;
        });
        LOG.info("open: volume {} {}", uri.key(), persistent ? "persistent" : "non-persistent");
    }

    /** Ends the epoch: a non-persistent disk's writes are dropped with its overlay. */
    public void close(String uriText) throws IOException {
        VolumeUri uri = parse("Datapath.close", uriText);
        String id = DiskIds.of(uri);
        FileLocks.with(run.volumesLock(), () -> {
            VolumeRecord record = VolumeRecord.read(run.volumeRecord(id));
            dropOverlay(id);
            record.withNonPersistent(false).write(run.volumeRecord(id));
            return null;
        });
        LOG.info("close: volume {}", uri.key());
    }

    private void dropOverlay(String id) throws IOException {
        Path overlay = run.overlayFile(env, id);
        Files.deleteIfExists(overlay);
        Files.deleteIfExists(OverlayBlockDevice.mapFileOf(overlay));
    }

    /** A URI entering the datapath: parsed, then accepted only inside an SR attached here (issue 19). */
    private VolumeUri resolve(String method, String text) throws IOException {
        VolumeUri uri = parse(method, text);
        resolver.check(uri, method);
        return uri;
    }

    private static VolumeUri parse(String method, String text) {
        VolumeUri uri;
        try {
            uri = VolumeUri.parse(text);
        } catch (IllegalArgumentException e) {
            throw new SmapiException(StorageError.invalidArguments(method), method + ": " + e.getMessage()
                    + "; the URI must come from Volume.stat of an spdk-sr SR", e);
        }
        return uri;
    }
}
