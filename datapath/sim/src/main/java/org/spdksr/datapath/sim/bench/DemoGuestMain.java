package org.spdksr.datapath.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.spdksr.datapath.blkifd.daemon.StatusCommand;
import org.spdksr.datapath.sim.blkfront.BackendInfo;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.LoadGenerator;
import org.spdksr.datapath.sim.blkfront.LoadReport;
import org.spdksr.datapath.sim.blkfront.LoadSpec;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;
import org.spdksr.datapath.sim.blkfront.SimGuest;
import org.spdksr.datapath.sim.xenopsd.SimXenopsd;
import org.spdksr.datapath.sim.xenopsd.Vbd;
import org.spdksr.datapath.sim.xenopsd.VbdSpec;
import org.spdksr.datapath.xen.sim.SimDomain;
import org.spdksr.datapath.xen.sim.SimLayout;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreClient;
import picocli.CommandLine;

/**
 * The guest side of {@code packaging/demo.sh}: plays xenopsd with the {@code Datapath.attach}
 * result (smapiv3.md §7.2), boots a simulated guest's frontend against the blkifd that the entry
 * points started, runs a verified read/write/flush/discard workload and a short benchmark, shows
 * {@code spdk-sr status}, leaves a marker for the clone step, then unplugs cleanly. Lives beside
 * the benchmark because it reuses its ring load. Exit status 1 if anything was wrong.
 *
 * <p>usage: {@code DemoGuestMain <sim-root> <domid> <disk> <run-dir> <attach-result-json>}
 */
public final class DemoGuestMain {
    /** Where the demo leaves its marker: 1 MiB into the disk. */
    static final long MARKER_SECTOR = 2048;
    static final byte[] MARKER = "hello from the guest".getBytes(StandardCharsets.US_ASCII);

    private DemoGuestMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 5) {
            System.err.println("usage: DemoGuestMain <sim-root> <domid> <disk> <run-dir> <attach-result-json>");
            System.exit(2);
        }
        SimLayout layout = new SimLayout(Path.of(args[0]));
        int domid = Integer.parseInt(args[1]);
        String disk = args[2];
        JsonNode backend = new ObjectMapper().readTree(args[4]);
        Map<String, String> extra = new LinkedHashMap<>();
        String nbd = "";
        for (JsonNode impl : backend.get("implementations")) {
            if (impl.get(0).asText().equals("XenDisk")) {
                impl.get(1).get("extra").fields().forEachRemaining(e -> extra.put(e.getKey(), e.getValue().asText()));
            } else if (impl.get(0).asText().equals("Nbd")) {
                nbd = impl.get(1).get("uri").asText();
            }
        }
        boolean ok = true;
        try (Xenstore dom0 = XenstoreClient.connectSocket(layout.xenstoreSocket(0));
                SimDomain domain = SimDomain.attach(layout, domid);
                SimGuest guest = new SimGuest(domain, 16)) {
            SimXenopsd xenopsd = new SimXenopsd(dom0);
            long t0 = System.nanoTime();
            Vbd vbd = xenopsd.plug(VbdSpec.qdisk(domid, disk, false, nbd, extra));
            xenopsd.awaitHotplugConnected(vbd, Duration.ofSeconds(60));
            step("xenopsd: wrote " + vbd.backendPath() + " (sm-data/spdk-sr-disk=" + extra.get("spdk-sr-disk")
                    + ", params=" + nbd + "); blkifd answered hotplug-status=connected");
            try (SimBlkfront front = new SimBlkfront(guest, vbd.devid(), FrontOptions.defaults().withQueues(2))) {
                BackendInfo info = front.connect();
                step(String.format(Locale.ROOT, "guest d%d: %s Connected after %d ms: %d MiB, %d queues, ring order %d, "
                        + "persistent grants %s, %d indirect segments, discard %s, flush %s", domid, disk,
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0), info.sectors() / 2048, front.queueCount(),
                        front.ringOrder(), front.persistentGrantsInUse(), front.indirectSegments(), info.discard(),
                        info.flushCache()));
                ok &= workload(front, info);
                ok &= benchmark(front, info);
                byte[] marker = Arrays.copyOf(MARKER, 4096);
                ok &= front.write(MARKER_SECTOR, marker).get(30, TimeUnit.SECONDS).ok();
                ok &= front.flush().get(30, TimeUnit.SECONDS).ok();
                step("guest: wrote '" + new String(MARKER, StandardCharsets.US_ASCII) + "' at 1 MiB and flushed");
                System.out.println();
                step("spdk-sr status (the operator's view, from blkifd's control socket):");
                new CommandLine(new StatusCommand()).execute("--run-dir", args[3]);
                System.out.println();
                xenopsd.unplugClean(vbd, Duration.ofSeconds(60));
                step("xenopsd: clean unplug done (frontend Closed, backend torn down, nodes removed)");
            }
        }
        System.exit(ok ? 0 : 1);
    }

    private static boolean workload(SimBlkfront front, BackendInfo info) throws InterruptedException {
        int sectors = (int) Math.min(info.sectors(), 131072); // the model keeps 64 MiB in memory
        LoadReport r = new LoadGenerator(front, LoadSpec.mixed(16, 4000, sectors, 2026)).run();
        System.out.printf(Locale.ROOT, "%n  verified workload (random 512 B..64 KiB, every read checked against a model)%n");
        System.out.printf(Locale.ROOT, "  %-9s %7s %7s %7s %8s %8s %9s %9s %7s %10s%n", "requests", "reads", "writes",
                "flushes", "discards", "MiB read", "MiB write", "errors", "bad", "result");
        System.out.printf(Locale.ROOT, "  %-9d %7d %7d %7d %8d %8.1f %9.1f %9d %7d %10s%n%n", r.requests(), r.reads(),
                r.writes(), r.flushes(), r.discards(), r.bytesRead() / 1048576.0, r.bytesWritten() / 1048576.0,
                r.errors(), r.mismatches(), r.clean() && r.problems().isEmpty() ? "OK" : "FAILED");
        r.problems().forEach(p -> System.out.println("  problem: " + p));
        return r.clean() && r.problems().isEmpty();
    }

    private static boolean benchmark(SimBlkfront front, BackendInfo info) {
        long bytes = Math.min(info.sectors() * 512, 256L << 20);
        System.out.printf(Locale.ROOT, "  short benchmark through the ring (2 s each after 0.5 s warm-up; file back end, "
                + "simulated grants and events)%n");
        System.out.printf(Locale.ROOT, "  %-14s %4s %10s %10s%n", "workload", "QD", "IOPS", "MiB/s");
        try {
            for (Object[] row : List.of(new Object[] {Workload.RAND_READ_4K, 32}, new Object[] {Workload.RAND_WRITE_4K, 32},
                    new Object[] {Workload.SEQ_READ_1M, 8}, new Object[] {Workload.SEQ_WRITE_1M, 8})) {
                Workload w = (Workload) row[0];
                int depth = (Integer) row[1];
                Result r = new RingLoad(front, w, depth, bytes).run(0.5, 2);
                System.out.printf(Locale.ROOT, "  %-14s %4d %10.0f %10.1f%n", w.name(), depth, r.iops(), r.mibPerSecond());
            }
            System.out.println();
            return true;
        } catch (RuntimeException | InterruptedException e) {
            System.out.println("  benchmark FAILED: " + e.getMessage());
            return false;
        }
    }

    private static void step(String text) {
        System.out.println("   " + text);
    }
}
