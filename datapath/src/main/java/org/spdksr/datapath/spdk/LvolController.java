package org.spdksr.datapath.spdk;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.vhost.VhostBackendControl;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.spdk.Bdev;
import org.spdksr.plugin.spdk.SpdkClient;
import org.spdksr.plugin.spdk.SpdkClientSettings;
import org.spdksr.plugin.spdk.SpdkErrorKind;
import org.spdksr.plugin.spdk.SpdkRpcException;
import org.spdksr.plugin.spdk.VhostController;

/**
 * The vhost-user-blk controller through which spdk_tgt serves one lvol to one domain's blkifd
 * (spdk-rpc.md §6, export paths). A vhost-user socket takes one initiator, so every (disk,
 * domain) pair has its own controller: two domains may hold read-only activations of one
 * snapshot. The name is derived from both, so a restarted blkifd finds the controller its
 * predecessor made and reuses it.
 *
 * <p>Each call opens its own connection to spdk_tgt: blkifd must not hold one for the life of a
 * VM, and a restarted spdk_tgt is then reached without extra care.
 */
public final class LvolController implements VhostBackendControl {
    private static final Logger LOG = LoggerFactory.getLogger(LvolController.class);
    /** How long a delete may wait for the session of an initiator that just disconnected to end. */
    private static final Duration SESSION_TEARDOWN = Duration.ofSeconds(10);
    private static final Pattern PLAIN_DOMAIN = Pattern.compile("[A-Za-z0-9_-]{1,24}");

    private final VolumeUri.SpdkLvol lvol;
    private final String name;
    private final boolean readOnly;

    public LvolController(VolumeUri.SpdkLvol lvol, String diskId, String domain, boolean readOnly) {
        this.lvol = lvol;
        this.name = nameOf(diskId, domain);
        this.readOnly = readOnly;
    }

    /**
     * {@code spdksr-<disk id>-<domain>}: short enough for {@code /run/spdk-sr/vhost/<name>} to fit
     * a unix socket path (108 bytes), and only characters SPDK and file names take. A domain that
     * is not a plain token (dom0 attachments use {@code ""} or {@code u0_...}) is replaced by a hash.
     */
    static String nameOf(String diskId, String domain) {
        String token = PLAIN_DOMAIN.matcher(domain).matches() ? domain : "h" + shortHash(domain);
        return "spdksr-" + diskId + "-" + token;
    }

    public String name() {
        return name;
    }

    /**
     * Makes sure the controller exists for this lvol with the wanted access and returns its
     * socket. A leftover of the same name for another bdev or access is replaced when nobody is
     * connected to it, and refused otherwise.
     */
    public Path ensure() throws IOException {
        return ensure(SpdkClientSettings.defaults(lvol.socket()));
    }

    private Path ensure(SpdkClientSettings settings) throws IOException {
        try (SpdkClient spdk = new SpdkClient(settings)) {
            Bdev bdev = spdk.bdev(lvol.bdevAlias()).orElseThrow(() -> new IOException("lvol " + lvol.bdevAlias()
                    + " does not exist in the spdk_tgt at " + lvol.socket() + ": the volume was destroyed, or the SR's "
                    + "device is not attached to spdk_tgt (check `spdk-sr status` and journalctl -u spdk-sr-tgt)"));
            Optional<VhostController> existing = spdk.vhostController(name);
            if (existing.isPresent()) {
                VhostController c = existing.get();
                if (c.bdev().equals(bdev.name()) && c.readOnly() == readOnly) {
                    return c.socket();
                }
                if (c.sessions() > 0) {
                    throw new IOException("vhost controller " + name + " in the spdk_tgt at " + lvol.socket()
                            + " exports bdev " + c.bdev() + (c.readOnly() ? " read-only" : " read-write")
                            + " to a connected initiator; stop the process using " + c.socket() + " and retry");
                }
                LOG.info("replacing vhost controller {} (bdev {}, read-only {}) left behind", name, c.bdev(), c.readOnly());
                spdk.deleteVhostController(name);
            }
            // The bdev name (the lvol's uuid) rather than its alias: it survives a rename (§6).
            spdk.createVhostBlkController(name, bdev.name(), readOnly);
            return spdk.vhostController(name).orElseThrow(() -> new IOException("spdk_tgt at " + lvol.socket()
                    + " accepted vhost controller " + name + " but does not list it")).socket();
        } catch (SpdkRpcException e) {
            throw new IOException("cannot export lvol " + lvol.bdevAlias() + " through vhost controller " + name
                    + ": " + e.getMessage(), e);
        }
    }

    /** Makes the controller again after spdk_tgt lost it (a restart without it in the saved config). */
    @Override
    public void restore() throws IOException {
        // Short waits: this runs inside the device's reconnect loop, which has its own deadline.
        ensure(new SpdkClientSettings(lvol.socket(), Duration.ofMillis(500), Duration.ofMillis(100), Duration.ofSeconds(10)));
    }

    /** Deletes the controller; one already gone is fine. Never throws: it runs on deactivate. */
    @Override
    public void release() {
        long deadline = System.nanoTime() + SESSION_TEARDOWN.toNanos();
        try (SpdkClient spdk = new SpdkClient(SpdkClientSettings.defaults(lvol.socket()))) {
            while (true) {
                try {
                    spdk.deleteVhostController(name);
                    LOG.info("deleted vhost controller {} of lvol {}", name, lvol.bdevAlias());
                    return;
                } catch (SpdkRpcException e) {
                    if (e.kind() == SpdkErrorKind.NOT_FOUND) {
                        return;
                    }
                    // The back end ends the session a moment after the initiator hangs up; until
                    // then the delete is refused as busy (§6: refused while an initiator is connected).
                    if (!isBusy(e) || System.nanoTime() - deadline > 0) {
                        throw e;
                    }
                }
                Thread.sleep(50);
            }
        } catch (SpdkRpcException e) {
            LOG.warn("cannot delete vhost controller {} of lvol {} in the spdk_tgt at {}: {}; it is harmless and "
                    + "is reused or replaced at the next activation", name, lvol.bdevAlias(), lvol.socket(), e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static boolean isBusy(SpdkRpcException e) {
        return String.valueOf(e.getMessage()).toLowerCase(java.util.Locale.ROOT).contains("busy");
    }

    private static String shortHash(String text) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 6);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
