package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;
import org.spdksr.datapath.sim.blkfront.SimGuest;
import org.spdksr.datapath.sim.xenopsd.SimXenopsd;
import org.spdksr.datapath.sim.xenopsd.Vbd;
import org.spdksr.datapath.sim.xenopsd.VbdSpec;
import org.spdksr.datapath.xen.sim.SimDomain;
import org.spdksr.datapath.xen.sim.SimXenHost;
import org.spdksr.datapath.xen.xenstore.Xenstore;

/**
 * A host for datapath tests: the simulated Xen host (xenstored, guest domains) in this JVM, the
 * staged entry points run through the xapi-storage-script emulation with the simulation selected
 * in their environment (so blkifd, started by them, serves simulated guests), xenopsd played by
 * {@link SimXenopsd}, and simulated guests' frontends in this JVM.
 */
final class DatapathLab implements AutoCloseable {
    final Path base;
    final Path runDir;
    final SimXenHost host;
    final Xapi xapi;
    final Xenstore dom0;
    final SimXenopsd xenopsd;
    private final List<AutoCloseable> guests = new ArrayList<>();
    private final Map<String, String> env = new HashMap<>();

    DatapathLab(Path base) throws IOException {
        this(base, Map.of());
    }

    /** @param extraEnv more settings for the entry points and blkifd (e.g. the spdk back end's) */
    DatapathLab(Path base, Map<String, String> extraEnv) throws IOException {
        this.base = base;
        env.putAll(extraEnv);
        this.runDir = base.resolve("run");
        this.host = SimXenHost.start(base.resolve("xen"));
        env.put("SPDKSR_XEN_MODE", "sim");
        env.put("SPDKSR_XEN_SIM_ROOT", base.resolve("xen").toString());
        env.put("SPDK_SR_RUN_DIR", runDir.toString());
        this.xapi = new Xapi(XapiStorageScript.staged().withEnvironment(env));
        this.dom0 = host.connectDom0();
        this.xenopsd = new SimXenopsd(dom0);
    }

    Map<String, String> environment() {
        return Map.copyOf(env);
    }

    Xapi.CreatedSr newSr(String name) throws IOException {
        Path dir = Files.createDirectories(base.resolve("sr-" + name));
        return xapi.srCreateAndPlug(Map.of("path", dir.toString()), name, "datapath test SR");
    }

    /** A simulated guest domain with its kernel services (memory, grants, event dispatcher). */
    SimGuest guest(int domid) throws IOException {
        host.createDomain(domid, 8192, 16384);
        SimDomain domain = SimDomain.attach(host.layout(), domid);
        SimGuest guest = new SimGuest(domain, 16);
        guests.add(domain);
        guests.add(guest);
        return guest;
    }

    /** xenopsd's VBD plug from the attach result (§7.2), then waiting for hotplug-status. */
    Vbd plug(int domid, String disk, AttachResult attached, boolean readOnly) throws Exception {
        assertThat(attached.backendType()).isEqualTo("qdisk");
        Vbd vbd = xenopsd.plug(VbdSpec.qdisk(domid, disk, readOnly, attached.xenstoreParams(), attached.extra()));
        xenopsd.awaitHotplugConnected(vbd, Duration.ofSeconds(60));
        return vbd;
    }

    /** A guest's disk from VDI.attach to a connected frontend: the VM start path of one disk (§6). */
    record StartedDisk(String uri, AttachResult attached, Vbd vbd, SimBlkfront front, long attachToConnectedMillis) {}

    StartedDisk startDisk(SimGuest guest, String uri, String disk, FrontOptions options) throws Exception {
        int domid = guest.domain().domid();
        long t0 = System.nanoTime();
        AttachResult attached = AttachResult.from(xapi.vdiAttach(uri, Integer.toString(domid)));
        xapi.vdiActivate(uri, Integer.toString(domid));
        Vbd vbd = plug(domid, disk, attached, false);
        SimBlkfront front = new SimBlkfront(guest, vbd.devid(), options);
        front.connect();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        guests.add(front);
        return new StartedDisk(uri, attached, vbd, front, ms);
    }

    /** VM shutdown of one disk: clean unplug, then VDI.deactivate and VDI.detach (§6). */
    void stopDisk(StartedDisk disk, String domain) throws Exception {
        xenopsd.unplugClean(disk.vbd(), Duration.ofSeconds(60));
        xapi.vdiDeactivate(disk.uri(), domain);
        xapi.vdiDetach(disk.uri(), domain);
    }

    Path domainDir(String domain) {
        return runDir.resolve(domain);
    }

    /** The pid of the domain's blkifd from its pid file, if the process lives. */
    Optional<ProcessHandle> blkifd(String domain) {
        return alive(domainDir(domain).resolve("blkifd.pid"));
    }

    private static Optional<ProcessHandle> alive(Path pidFile) {
        try {
            long pid = Long.parseLong(Files.readString(pidFile).trim());
            return ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Polled: onExit of a process that is not our child notices the exit only coarsely. */
    private static void killAndWait(ProcessHandle ph) {
        ph.destroyForcibly();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (ph.isAlive() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** {@code spdk-sr status --json} of the staged tree, parsed. */
    JsonNode status() throws IOException, InterruptedException {
        Path cmd = XapiStorageScript.stageRoot().resolve("usr/sbin/spdk-sr");
        ProcessBuilder pb = new ProcessBuilder(cmd.toString(), "status", "--json", "--run-dir", runDir.toString());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("spdk-sr status: %s", err).isZero();
        return Json.parse(out);
    }

    /** PSS in KiB of a process (/proc/<pid>/smaps_rollup), the memory it really costs the host. */
    static long pssKib(long pid) throws IOException {
        Long pss = smapsRollup(pid).get("Pss");
        if (pss == null) {
            throw new IOException("no Pss line for pid " + pid);
        }
        return pss;
    }

    /** The KiB figures of /proc/<pid>/smaps_rollup by name (Rss, Pss, Pss_Anon, Pss_File, Pss_Shmem, ...). */
    static Map<String, Long> smapsRollup(long pid) throws IOException {
        Map<String, Long> values = new java.util.LinkedHashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps_rollup"))) {
            String[] parts = line.trim().split("\\s+");
            if (parts.length == 3 && parts[0].endsWith(":") && parts[2].equals("kB")) {
                values.put(parts[0].substring(0, parts[0].length() - 1), Long.parseLong(parts[1]));
            }
        }
        return values;
    }

    String blkifdLog(String domain) {
        try {
            return Files.readString(domainDir(domain).resolve("blkifd.log"));
        } catch (IOException e) {
            return "(no log)";
        }
    }

    /** Stops whatever the test left: frontends, guests, then any blkifd still running (by pid file). */
    @Override
    public void close() throws Exception {
        for (int i = guests.size() - 1; i >= 0; i--) {
            try {
                guests.get(i).close();
            } catch (Exception e) {
                // best effort
            }
        }
        if (Files.isDirectory(runDir)) {
            try (Stream<Path> dirs = Files.list(runDir)) {
                for (Path dir : dirs.filter(Files::isDirectory).toList()) {
                    // The supervisor first: it would start a killed blkifd again, and the new one
                    // would write into the test's directory while JUnit deletes it (seen in CI).
                    alive(dir.resolve("supervisor.pid")).ifPresent(DatapathLab::killAndWait);
                    blkifd(dir.getFileName().toString()).ifPresent(DatapathLab::killAndWait);
                }
            }
        }
        dom0.close();
        host.close();
    }
}
