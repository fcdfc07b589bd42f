package org.spdksr.datapath.blkifd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.spdksr.datapath.device.FileBlockDevice;
import org.spdksr.datapath.device.FileDeviceOptions;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.Operation;
import org.spdksr.datapath.sim.blkfront.Response;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;
import org.spdksr.datapath.sim.blkfront.SimGuest;
import org.spdksr.datapath.sim.blkfront.XenstoreWaits;
import org.spdksr.datapath.sim.xenopsd.SimXenopsd;
import org.spdksr.datapath.sim.xenopsd.Vbd;
import org.spdksr.datapath.sim.xenopsd.VbdSpec;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.XenAccessConfig;
import org.spdksr.datapath.xen.XenAccessFactory;
import org.spdksr.datapath.xen.sim.SimDomain;
import org.spdksr.datapath.xen.sim.SimXenHost;
import org.spdksr.datapath.xen.xenstore.Xenstore;

/**
 * Test fixture: one simulated host, one guest, and the real blkifd serving one disk from a file
 * device. The volume file is exactly the volume's size and sits between two sentinel files in its
 * own directory, filled with seeded random bytes, so a test can check that nothing was written
 * outside the volume (the file did not grow, the sentinels are untouched) and, byte for byte,
 * what a rejected request changed inside it. Grant mappings are counted by the simulation
 * ({@link SimXenHost#liveMappings}), and the rig takes that count at every Closed the backend
 * writes, at the moment of the write (before the backend gets its answer): by then every page of
 * the guest must be unmapped (blkif.md §5.7). {@link FencedGrantAccess} around the real simulated
 * grant access records grant operations a test forbids.
 */
final class BlkifdRig implements AutoCloseable {
    static final int GUEST = 7;
    static final Duration WAIT = Duration.ofSeconds(30);
    /**
     * How long a disconnect waits for I/O in the device before it unmaps anyway; short, so a test
     * of I/O that never finishes does not wait blkifd's 30 s (VbdBackend.DRAIN_TIMEOUT).
     */
    static final Duration DRAIN = Duration.ofSeconds(2);

    /** How to build the rig. */
    record Config(long volumeSectors, boolean readOnly, BackendFeatures features, Map<String, String> backendKeys,
            String disk, long seed) {
        Config withVolumeSectors(long v) {
            return new Config(v, readOnly, features, backendKeys, disk, seed);
        }

        Config withReadOnly(boolean v) {
            return new Config(volumeSectors, v, features, backendKeys, disk, seed);
        }

        Config withFeatures(BackendFeatures v) {
            return new Config(volumeSectors, readOnly, v, backendKeys, disk, seed);
        }

        Config withBackendKey(String k, String v) {
            Map<String, String> m = new LinkedHashMap<>(backendKeys);
            m.put(k, v);
            return new Config(volumeSectors, readOnly, features, m, disk, seed);
        }
    }

    /** 4 MiB volume, read-write, order 4, 4 queues, 256 indirect segments, 64 persistent grants per queue. */
    static Config config() {
        return new Config(8192, false, new BackendFeatures(4, 4, 256, 64), Map.of(), "xvdb", 42);
    }

    final Path root;
    final Config config;
    final SimXenHost host;
    final XenAccess rawDom0;
    final FencedGrantAccess grants;
    final XenAccess dom0;
    final SimDomain domain;
    final SimGuest guest;
    final Path volume;
    final Path sentinelBefore;
    final Path sentinelAfter;
    private final byte[] sentinelBeforeBytes;
    private final byte[] sentinelAfterBytes;
    final FileBlockDevice file;
    final SlowDevice device;
    final BlkifBackendService blkifd;
    final SimXenopsd xenopsd;
    final Random random;
    Vbd vbd;
    VbdBackend backend;
    private final List<SimBlkfront> fronts = new ArrayList<>();
    private final List<ClosedWrite> closedWrites = new CopyOnWriteArrayList<>();
    private final AutoCloseable closedObserver;

    /** A Closed the backend wrote, and the guest's grant mappings that were live at that moment. */
    record ClosedWrite(String path, List<String> liveMappings) {
    }

    private BlkifdRig(Path root, Config config, long bufferBudgetBytes) throws Exception {
        this.root = root;
        this.config = config;
        this.random = new Random(config.seed());
        host = SimXenHost.start(root.resolve("host"));
        host.createDomain(GUEST, 8192, 16384);
        closedObserver = host.xenstored().observe((writer, path, value) -> {
            if (writer == 0 && path.startsWith("/local/domain/0/backend/") && path.endsWith("/state")
                    && value.map(v -> v.trim().equals("6")).orElse(false)) {
                closedWrites.add(new ClosedWrite(path, host.liveMappings(GUEST)));
            }
        });
        rawDom0 = XenAccessFactory.open(XenAccessConfig.sim(root.resolve("host")));
        grants = new FencedGrantAccess(rawDom0.grants());
        dom0 = new XenAccess(rawDom0.xenstore(), grants, rawDom0.events());
        domain = SimDomain.attach(host.layout(), GUEST);
        guest = new SimGuest(domain, 16);

        Path dir = Files.createDirectories(root.resolve("volumes"));
        sentinelBefore = dir.resolve("a-sentinel.img");
        volume = dir.resolve("b-volume.img");
        sentinelAfter = dir.resolve("c-sentinel.img");
        sentinelBeforeBytes = randomBytes(64 * 1024);
        sentinelAfterBytes = randomBytes(64 * 1024);
        Files.write(sentinelBefore, sentinelBeforeBytes);
        Files.write(volume, randomBytes(Math.toIntExact(config.volumeSectors() * 512)));
        Files.write(sentinelAfter, sentinelAfterBytes);

        file = FileBlockDevice.open(volume, FileDeviceOptions.defaults());
        device = new SlowDevice(file);
        blkifd = new BlkifBackendService(dom0, config.features(), bufferBudgetBytes, DRAIN);
        xenopsd = new SimXenopsd(dom0.xenstore());
        plug();
    }

    static BlkifdRig start(Path root, Config config) throws Exception {
        return new BlkifdRig(root, config, BufferSettings.DEFAULT_MIB << 20);
    }

    /** With {@code bufferBudgetBytes} of request buffer memory for blkifd (issue 18). */
    static BlkifdRig start(Path root, Config config, long bufferBudgetBytes) throws Exception {
        return new BlkifdRig(root, config, bufferBudgetBytes);
    }

    /** Serves the disk and plugs the VBD as xenopsd does; waits for hotplug-status=connected. */
    void plug() throws Exception {
        VbdSpec spec = VbdSpec.qdisk(GUEST, config.disk(), config.readOnly(), volume.toString(), Map.of());
        backend = blkifd.serve(GUEST, spec.devid(), device, config.readOnly());
        vbd = xenopsd.plug(spec);
        for (Map.Entry<String, String> e : config.backendKeys().entrySet()) {
            xs().write(vbd.backendPath() + "/" + e.getKey(), e.getValue());
        }
        xenopsd.awaitHotplugConnected(vbd, WAIT);
    }

    Xenstore xs() {
        return dom0.xenstore();
    }

    byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    SimBlkfront front(FrontOptions options) {
        SimBlkfront f = new SimBlkfront(guest, vbd.devid(), options.withTimeout(WAIT));
        fronts.add(f);
        return f;
    }

    SimBlkfront connect(FrontOptions options) throws Exception {
        SimBlkfront f = front(options);
        f.connect();
        return f;
    }

    long volumeSectors() {
        return config.volumeSectors();
    }

    byte[] volumeBytes() throws IOException {
        return Files.readAllBytes(volume);
    }

    byte[] fileRange(long sector, int bytes) throws IOException {
        try (FileChannel ch = FileChannel.open(volume, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(bytes);
            while (b.hasRemaining()) {
                if (ch.read(b, sector * 512 + b.position()) < 0) {
                    break;
                }
            }
            return Arrays.copyOf(b.array(), b.position());
        }
    }

    /** Nothing outside the volume changed: the file has its size, both sentinels their bytes. */
    void assertContained() throws IOException {
        assertThat(Files.size(volume)).as("volume file size").isEqualTo(config.volumeSectors() * 512);
        assertThat(Arrays.equals(Files.readAllBytes(sentinelBefore), sentinelBeforeBytes))
                .as("sentinel before the volume untouched").isTrue();
        assertThat(Arrays.equals(Files.readAllBytes(sentinelAfter), sentinelAfterBytes))
                .as("sentinel after the volume untouched").isTrue();
        try (var list = Files.list(volume.getParent())) {
            assertThat(list.count()).as("no new file beside the volume").isEqualTo(3);
        }
    }

    static void assertSameBytes(byte[] actual, byte[] expected, String what) {
        if (!Arrays.equals(actual, expected)) {
            int i = Arrays.mismatch(actual, expected);
            throw new AssertionError(what + ": first difference at byte " + i + " (sector " + (i / 512) + ")"
                    + ", lengths " + actual.length + "/" + expected.length);
        }
    }

    /** A write then a read of the same range on {@code queue}, checked against the data and the file. */
    void verifiedWriteRead(SimBlkfront f, int queue, long sector, int bytes) throws Exception {
        byte[] data = randomBytes(bytes);
        Response w = f.submit(queue, Operation.WRITE, sector, data).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(w.status()).as("verified write at " + sector).isEqualTo(Response.OKAY);
        Response r = f.submit(queue, Operation.READ, sector, new byte[bytes]).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(r.status()).as("verified read at " + sector).isEqualTo(Response.OKAY);
        assertSameBytes(r.data(), data, "read back");
        assertSameBytes(fileRange(sector, bytes), data, "file bytes");
    }

    String backendPath() {
        return vbd.backendPath();
    }

    Optional<String> backendKey(String key) throws IOException {
        return xs().readIfExists(vbd.backendPath() + "/" + key);
    }

    org.spdksr.datapath.sim.blkfront.XenbusState backendState() throws IOException {
        return org.spdksr.datapath.sim.blkfront.XenbusState.parse(xs().readIfExists(vbd.backendPath() + "/state"));
    }

    /** Waits (generously) for the backend's state node to satisfy {@code until}. */
    void awaitBackendState(Predicate<org.spdksr.datapath.sim.blkfront.XenbusState> until, String what)
            throws Exception {
        XenstoreWaits.await(xs(), vbd.backendPath() + "/state",
                v -> until.test(org.spdksr.datapath.sim.blkfront.XenbusState.parse(v)), what, WAIT);
    }

    /** The guest's grant mappings live now (one line each: which grants, which process and thread). */
    List<String> liveMappings() {
        return host.liveMappings(GUEST);
    }

    /** Every Closed the backend has written so far, with what was mapped at that moment. */
    List<ClosedWrite> closedWrites() {
        return List.copyOf(closedWrites);
    }

    /**
     * No page of the guest is mapped now, and none was at any Closed the backend wrote: checked at
     * the moment of each write, so a backend that unmaps after saying Closed fails here however
     * quickly it unmaps. Call once the backend is Closed (or gone); it does not wait.
     */
    void assertNoLiveMappings() {
        for (ClosedWrite w : closedWrites) {
            assertThat(w.liveMappings()).as("grant mappings of the guest live when the backend wrote Closed to %s",
                    w.path()).isEmpty();
        }
        assertThat(liveMappings()).as("grant mappings of the guest live now").isEmpty();
    }

    /** Disconnects every frontend made through this rig that is still connected. */
    void closeFronts() {
        for (SimBlkfront f : fronts) {
            try {
                if (f.connected()) {
                    f.disconnect(WAIT);
                }
            } catch (Exception e) {
                // best effort: the mapping check that follows tells what was left
            }
        }
    }

    @Override
    public void close() throws Exception {
        for (SimBlkfront f : fronts) {
            try {
                f.close();
            } catch (Exception e) {
                // best effort
            }
        }
        closedObserver.close();
        blkifd.close();
        device.close();
        guest.close();
        domain.close();
        rawDom0.close();
        host.close();
    }
}
