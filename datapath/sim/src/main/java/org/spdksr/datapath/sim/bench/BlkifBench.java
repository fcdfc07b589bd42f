package org.spdksr.datapath.sim.bench;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.spdksr.datapath.blkifd.BackendFeatures;
import org.spdksr.datapath.blkifd.BlkifBackendService;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.device.FileBlockDevice;
import org.spdksr.datapath.device.FileDeviceOptions;
import org.spdksr.datapath.device.NullBlockDevice;
import org.spdksr.datapath.vhost.VhostBlockDevice;
import org.spdksr.datapath.vhost.VhostDeviceOptions;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;
import org.spdksr.datapath.sim.blkfront.SimGuest;
import org.spdksr.datapath.sim.xenopsd.SimXenopsd;
import org.spdksr.datapath.sim.xenopsd.Vbd;
import org.spdksr.datapath.sim.xenopsd.VbdSpec;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.XenAccessConfig;
import org.spdksr.datapath.xen.XenAccessFactory;
import org.spdksr.datapath.xen.sim.SimDomain;
import org.spdksr.datapath.xen.sim.SimXenHost;

/**
 * The blkifd benchmark (a command, not a test): 4 KiB random and 1 MiB sequential I/O at several
 * queue depths, through a simulated guest's ring into blkifd, on a null device, on a file and through
 * vhost-user-blk to qemu-storage-daemon on that file (when installed), with
 * fio on the same file, same pattern and depth, in the same run. Prints one table.
 *
 * <p>usage: {@code BlkifBench [--seconds S] [--warmup S] [--size-mib N] [--depths 1,32,128]
 * [--devices null,file,vhost] [--dir D]}
 */
public final class BlkifBench {
    private static final int GUEST = 7;

    private BlkifBench() {}

    private record Settings(double seconds, double warmup, long sizeBytes, List<Integer> depths, List<String> devices,
            Path dir) {}

    private record Row(String device, Workload workload, int depth, Result ring, Result fio) {}

    public static void main(String[] args) throws Exception {
        Settings settings = parse(args);
        Files.createDirectories(settings.dir());
        Path file = settings.dir().resolve("bench.raw");
        fill(file, settings.sizeBytes());
        List<Workload> workloads = List.of(Workload.RAND_READ_4K, Workload.RAND_WRITE_4K, Workload.SEQ_READ_1M,
                Workload.SEQ_WRITE_1M);
        List<Row> rows = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        FioRun fio = new FioRun(file, settings.sizeBytes());
        Path xen = settings.dir().resolve("xen");
        removeTree(xen); // a previous run's simulated host, if it was interrupted
        try (SimXenHost host = SimXenHost.start(xen)) {
            // Guest memory for the deepest 1 MiB load plus rings and persistent grants.
            int deepest = settings.depths().stream().mapToInt(Integer::intValue).max().orElse(1);
            host.createDomain(GUEST, Math.max(16384, deepest * 260 + 4096), 65536);
            List<String> kinds = settings.devices().stream()
                    .filter(kind -> !kind.equals("vhost") || StorageDaemon.available()).toList();
            for (String deviceKind : kinds) {
                try (StorageDaemon daemon = deviceKind.equals("vhost")
                        ? StorageDaemon.start(file, settings.dir().resolve("vhost.sock"), 1)
                        : null;
                        BlockDevice device = open(deviceKind, file, daemon, settings)) {
                    for (Workload workload : workloads) {
                        for (int depth : settings.depths()) {
                            Result ring = throughRing(host, device, workload, depth, settings);
                            Result viaFio = !deviceKind.equals("null")
                                    ? fio.run(workload, depth, settings.warmup(), settings.seconds())
                                    : null;
                            Row row = new Row(deviceKind, workload, depth, ring, viaFio);
                            rows.add(row);
                            System.err.println(format(row));
                        }
                    }
                    if (device instanceof VhostBlockDevice vhost) {
                        // Issue 7's promise, measured: guest data reaches the region in one copy.
                        notes.add(String.format(Locale.ROOT, "vhost: %d requests to the back end, %d bytes bounced"
                                + " (extra copies), %d waits for room in the %d MiB shared region",
                                vhost.requestsSubmitted(), vhost.bytesBounced(), vhost.bufferWaits(),
                                vhost.options().regionBytes() >> 20));
                    }
                }
            }
        }
        print(rows, settings, notes);
    }

    private static BlockDevice open(String kind, Path file, StorageDaemon daemon, Settings settings) throws IOException {
        return switch (kind) {
            case "null" -> new NullBlockDevice(settings.sizeBytes());
            case "file" -> FileBlockDevice.open(file, FileDeviceOptions.defaults().withQueueDepth(128));
            // qemu-storage-daemon maps plain memfd memory; SPDK would need hugetlb backing.
            default -> VhostBlockDevice.open(daemon.socket(),
                    VhostDeviceOptions.defaults().withBacking(VhostDeviceOptions.Backing.PLAIN));
        };
    }

    private static Result throughRing(SimXenHost host, BlockDevice device, Workload workload, int depth,
            Settings settings) throws Exception {
        try (XenAccess dom0 = XenAccessFactory.open(XenAccessConfig.sim(host.layout().root()));
                BlkifBackendService blkifd = new BlkifBackendService(dom0, new BackendFeatures(4, 1, 256, 1056));
                SimDomain domain = SimDomain.attach(host.layout(), GUEST);
                SimGuest guest = new SimGuest(domain, 16)) {
            SimXenopsd xenopsd = new SimXenopsd(dom0.xenstore());
            VbdSpec spec = VbdSpec.qdisk(GUEST, "xvda", false, "bench", Map.of());
            blkifd.serve(GUEST, spec.devid(), device, false);
            Vbd vbd = xenopsd.plug(spec);
            xenopsd.awaitHotplugConnected(vbd, Duration.ofSeconds(30));
            // Order 4 (512 slots) so that the deepest load fits in one ring.
            SimBlkfront front = new SimBlkfront(guest, vbd.devid(), FrontOptions.defaults());
            front.connect();
            Result result = new RingLoad(front, workload, depth, settings.sizeBytes()).run(settings.warmup(),
                    settings.seconds());
            xenopsd.unplugClean(vbd, Duration.ofSeconds(60));
            return result;
        }
    }

    private static void removeTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var paths = Files.walk(root)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static void fill(Path file, long size) throws IOException {
        if (Files.exists(file) && Files.size(file) == size) {
            return;
        }
        byte[] chunk = new byte[1 << 20];
        new java.util.Random(1).nextBytes(chunk);
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(0);
            for (long written = 0; written < size; written += chunk.length) {
                raf.write(chunk, 0, (int) Math.min(chunk.length, size - written));
            }
        }
    }

    private static void print(List<Row> rows, Settings settings, List<String> notes) {
        System.out.printf(Locale.ROOT, "blkifd through a simulated guest ring (x86_64 ABI, order 4, one queue, persistent "
                + "grants, indirect) into a null device, a file (pread/pwrite, page cache) and vhost-user-blk to qemu-storage-daemon on the same file, %.0f s per cell after %.0f s warm-up, %d MiB file; fio: io_uring, buffered, same "
                + "file, depth and pattern, same run%n%n", settings.seconds(), settings.warmup(),
                settings.sizeBytes() >> 20);
        System.out.printf(Locale.ROOT, "%-6s %-13s %5s %12s %10s %12s %10s %9s%n", "device", "workload", "QD",
                "ring IOPS", "ring MiB/s", "fio IOPS", "fio MiB/s", "ring/fio");
        for (Row row : rows) {
            System.out.println(format(row));
        }
        if (!notes.isEmpty()) {
            System.out.println();
            notes.forEach(System.out::println);
        }
    }

    private static String format(Row row) {
        String fioIops = row.fio() == null ? "-" : String.format(Locale.ROOT, "%.0f", row.fio().iops());
        String fioMib = row.fio() == null ? "-" : String.format(Locale.ROOT, "%.1f", row.fio().mibPerSecond());
        String ratio = row.fio() == null || row.fio().iops() == 0 ? "-"
                : String.format(Locale.ROOT, "%.2f", row.ring().iops() / row.fio().iops());
        return String.format(Locale.ROOT, "%-6s %-13s %5d %12.0f %10.1f %12s %10s %9s", row.device(),
                row.workload().name(), row.depth(), row.ring().iops(), row.ring().mibPerSecond(), fioIops, fioMib, ratio);
    }

    private static Settings parse(String[] args) {
        double seconds = 5;
        double warmup = 1;
        long size = 512L << 20;
        List<Integer> depths = List.of(1, 32, 128);
        List<String> devices = List.of("null", "file", "vhost");
        Path dir = Path.of(System.getProperty("java.io.tmpdir"), "spdk-sr-bench");
        for (int i = 0; i < args.length; i++) {
            String value = i + 1 < args.length ? args[i + 1] : "";
            switch (args[i]) {
                case "--seconds" -> seconds = Double.parseDouble(value);
                case "--warmup" -> warmup = Double.parseDouble(value);
                case "--size-mib" -> size = Long.parseLong(value) << 20;
                case "--depths" -> depths = java.util.Arrays.stream(value.split(",")).map(Integer::valueOf).toList();
                case "--devices" -> {
                    devices = List.of(value.split(","));
                    for (String d : devices) {
                        if (!List.of("null", "file", "vhost").contains(d)) {
                            throw new IllegalArgumentException("unknown device " + d + " in --devices " + value
                                    + "; choose from null,file,vhost");
                        }
                    }
                }
                case "--dir" -> dir = Path.of(value);
                default -> throw new IllegalArgumentException("unknown option " + args[i]
                        + "; options: --seconds S --warmup S --size-mib N --depths 1,32,128 --devices null,file,vhost --dir D");
            }
            i++;
        }
        return new Settings(seconds, warmup, size, depths, devices, dir);
    }
}
