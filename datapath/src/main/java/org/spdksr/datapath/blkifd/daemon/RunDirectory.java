package org.spdksr.datapath.blkifd.daemon;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;

/**
 * Where blkifd processes and the datapath commands keep their runtime state, one directory per
 * domain (ARCHITECTURE.md §1: one blkifd per guest domain):
 * <pre>
 *   root/&lt;domain&gt;/blkifd.pid      the running blkifd's pid
 *   root/&lt;domain&gt;/blkifd.lock     held (flock) by the blkifd serving the domain, so there is one
 *   root/&lt;domain&gt;/supervisor.pid  the pid of the shell that restarts a killed blkifd (direct launch)
 *   root/&lt;domain&gt;/rings/         the ring journals a restarted blkifd takes the guest's rings over from
 *   root/&lt;domain&gt;/control.sock    its JSON-RPC control socket
 *   root/&lt;domain&gt;/state.json      the disks the datapath attached/activated (source of truth
 *                                  a restarted blkifd recovers from)
 *   root/&lt;domain&gt;/blkifd.log      its stderr
 *   root/&lt;domain&gt;/&lt;disk&gt;.nbd      one NBD socket per active disk
 *   root/&lt;domain&gt;.lock            serialises the datapath calls of one domain
 *   root/volumes/&lt;volume&gt;.json     host-wide activation record of a volume
 *   root/volumes.lock              serialises changes to those records
 * </pre>
 * The root is {@code $SPDK_SR_RUN_DIR} or {@value #DEFAULT_ROOT}; /run is a tmpfs, so everything
 * here disappears at reboot, when no blkifd runs either.
 */
public record RunDirectory(Path root) {
    public static final String ENV = "SPDK_SR_RUN_DIR";
    public static final String DEFAULT_ROOT = "/run/spdk-sr/blkifd";
    private static final String VOLUMES = "volumes";

    public static RunDirectory from(Map<String, String> env) {
        String configured = env.get(ENV);
        return new RunDirectory(Path.of(configured == null || configured.isBlank() ? DEFAULT_ROOT : configured)
                .toAbsolutePath());
    }

    /**
     * The directory name of a domain. {@code domain} is opaque (smapiv3.md §4.6: a domid, "" or
     * {@code u0_...}); safe names are used as they are, anything else (including "" and names
     * that could clash with ours) is hex-encoded behind a {@code _}.
     */
    public static String domainDirName(String domain) {
        if (domain.matches("[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}") && !domain.equals(VOLUMES)) {
            return domain;
        }
        return "_" + HexFormat.of().formatHex(domain.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The domain whose directory name {@code name} is: the inverse of {@link #domainDirName}, for
     * the spdk-sr-blkifd@ unit, whose instance name is a domain's directory name because a domain
     * can be "" and an instance cannot.
     *
     * @throws IllegalArgumentException if {@link #domainDirName} makes no such name
     */
    public static String domainOfDirName(String name) {
        String domain = name;
        if (name.startsWith("_")) {
            try {
                domain = new String(HexFormat.of().parseHex(name.substring(1)), StandardCharsets.UTF_8);
            } catch (IllegalArgumentException e) {
                domain = null;
            }
        }
        if (domain == null || !domainDirName(domain).equals(name)) {
            throw new IllegalArgumentException("'" + name + "' is not the directory name of a domain: a domain's "
                    + "name as it is, or '_' and its UTF-8 bytes in hex");
        }
        return domain;
    }

    public Path domainDir(String domain) {
        return root.resolve(domainDirName(domain));
    }

    public Path domainLock(String domain) {
        return root.resolve(domainDirName(domain) + ".lock");
    }

    public Path pidFile(String domain) {
        return domainDir(domain).resolve("blkifd.pid");
    }

    public Path instanceLock(String domain) {
        return domainDir(domain).resolve("blkifd.lock");
    }

    public Path supervisorPidFile(String domain) {
        return domainDir(domain).resolve("supervisor.pid");
    }

    public Path ringJournalDir(String domain) {
        return domainDir(domain).resolve("rings");
    }

    public Path controlSocket(String domain) {
        return domainDir(domain).resolve("control.sock");
    }

    public Path stateFile(String domain) {
        return domainDir(domain).resolve("state.json");
    }

    public Path logFile(String domain) {
        return domainDir(domain).resolve("blkifd.log");
    }

    public Path nbdSocket(String domain, String diskId) {
        return domainDir(domain).resolve(diskId + ".nbd");
    }

    public Path volumesDir() {
        return root.resolve(VOLUMES);
    }

    public Path volumesLock() {
        return root.resolve(VOLUMES + ".lock");
    }

    public Path volumeRecord(String volumeId) {
        return volumesDir().resolve(volumeId + ".json");
    }

    /** Non-persistent overlays live beside the records unless {@code $SPDK_SR_OVERLAY_DIR} says otherwise. */
    public Path overlayFile(Map<String, String> env, String volumeId) {
        String dir = env.get("SPDK_SR_OVERLAY_DIR");
        Path base = dir == null || dir.isBlank() ? volumesDir() : Path.of(dir);
        return base.resolve(volumeId + ".overlay");
    }
}
