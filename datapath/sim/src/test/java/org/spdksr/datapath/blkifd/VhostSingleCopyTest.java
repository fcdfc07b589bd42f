package org.spdksr.datapath.blkifd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.Operation;
import org.spdksr.datapath.sim.blkfront.Response;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;
import org.spdksr.datapath.sim.blkfront.SimGuest;
import org.spdksr.datapath.sim.blkfront.XenstoreWaits;
import org.spdksr.datapath.sim.xenopsd.SimXenopsd;
import org.spdksr.datapath.sim.xenopsd.Vbd;
import org.spdksr.datapath.sim.xenopsd.VbdSpec;
import org.spdksr.datapath.vhost.StorageDaemon;
import org.spdksr.datapath.vhost.VhostBlockDevice;
import org.spdksr.datapath.vhost.VhostDeviceOptions;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.XenAccessConfig;
import org.spdksr.datapath.xen.XenAccessFactory;
import org.spdksr.datapath.xen.sim.SimDomain;
import org.spdksr.datapath.xen.sim.SimXenHost;

/**
 * Issue 7 through the real blkifd: a simulated guest's ring in front of a {@link VhostBlockDevice}
 * talking to a real qemu-storage-daemon. Guest data must go from the grant straight into the
 * shared region (no bounce copy: {@link VhostBlockDevice#bytesBounced()} stays 0), also when the
 * region is too small for the requests in flight (they wait for room and all complete), and every
 * region buffer must come back, including when the guest disconnects while requests wait.
 * Skips (with the reason) only when qemu-storage-daemon is not installed.
 */
@Timeout(300)
class VhostSingleCopyTest {
    private static final int GUEST = 7;
    private static final Duration WAIT = Duration.ofSeconds(60);
    private static final int MIB = 1 << 20;

    @TempDir
    Path root;
    private SimXenHost host;
    private XenAccess rawDom0;
    private XenAccess dom0;
    private SimDomain domain;
    private SimGuest guest;
    private Path image;
    private StorageDaemon daemon;
    private VhostBlockDevice device;
    private BlkifBackendService blkifd;
    private Vbd vbd;
    private final List<SimBlkfront> fronts = new ArrayList<>();
    private final Random random = new Random(7);

    @BeforeEach
    void requireDaemon() {
        StorageDaemon.requireInstalled();
    }

    /** A host, a guest, qemu-storage-daemon on an image of {@code imageBytes}, blkifd serving it. */
    private void start(int imageBytes, boolean randomImage, long regionBytes, int queues) throws Exception {
        host = SimXenHost.start(root.resolve("host"));
        host.createDomain(GUEST, 40000, 65536);
        rawDom0 = XenAccessFactory.open(XenAccessConfig.sim(root.resolve("host")));
        dom0 = new XenAccess(rawDom0.xenstore(), rawDom0.grants(), rawDom0.events());
        domain = SimDomain.attach(host.layout(), GUEST);
        guest = new SimGuest(domain, 16);
        image = root.resolve("disk.raw");
        if (randomImage) {
            Files.write(image, bytes(imageBytes));
        } else {
            try (RandomAccessFile raf = new RandomAccessFile(image.toFile(), "rw")) {
                raf.setLength(imageBytes);
            }
        }
        daemon = StorageDaemon.start(image, root.resolve("vhost.sock"), true, queues);
        device = VhostBlockDevice.open(daemon.socket(), VhostDeviceOptions.defaults()
                .withBacking(VhostDeviceOptions.Backing.PLAIN).withRegionBytes(regionBytes));
        blkifd = new BlkifBackendService(dom0, new BackendFeatures(4, queues, 256, 256));
        SimXenopsd xenopsd = new SimXenopsd(dom0.xenstore());
        VbdSpec spec = VbdSpec.qdisk(GUEST, "xvdb", false, image.toString(), Map.of());
        blkifd.serve(GUEST, spec.devid(), device, false);
        vbd = xenopsd.plug(spec);
        xenopsd.awaitHotplugConnected(vbd, WAIT);
    }

    private SimBlkfront connect(FrontOptions options) throws Exception {
        SimBlkfront f = new SimBlkfront(guest, vbd.devid(), options.withTimeout(WAIT));
        fronts.add(f);
        f.connect();
        return f;
    }

    @AfterEach
    void stop() throws Exception {
        try {
            for (SimBlkfront f : fronts) {
                if (f.connected()) {
                    f.disconnect(WAIT);
                }
            }
            if (device != null) {
                assertNoLiveMappings();
                assertThat(device.freeBufferBytes()).as("region bytes back after the guest left")
                        .isEqualTo(device.bufferCapacityBytes());
            }
        } finally {
            for (SimBlkfront f : fronts) {
                f.close();
            }
            closeAll(blkifd, device, daemon, guest, domain, rawDom0, host);
        }
    }

    private static void closeAll(AutoCloseable... all) throws Exception {
        for (AutoCloseable c : all) {
            if (c != null) {
                c.close();
            }
        }
    }

    /** Called once the backend said Closed: by then nothing of the guest may be mapped (blkif.md §5.7). */
    private void assertNoLiveMappings() {
        assertThat(host.liveMappings(GUEST)).as("grant mappings left by the backend").isEmpty();
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    private static Response await(CompletableFuture<Response> f) throws Exception {
        return f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    @ParameterizedTest(name = "persistent grants {0}")
    @ValueSource(booleans = {true, false})
    void randomMixGoesFromTheGrantStraightIntoTheRegion(boolean persistent) throws Exception {
        start(32 * MIB, true, 32L * MIB, 2);
        SimBlkfront front = connect(FrontOptions.defaults().withQueues(2).withRingOrder(2)
                .withPersistentGrants(persistent));
        MixedLoad load = new MixedLoad(front, 0, Files.readAllBytes(image), persistent ? 1 : 2);
        load.run(32, 1500);

        assertThat(load.problems).isEmpty();
        assertThat(front.protocolViolations()).isEmpty();
        assertThat(load.indirectRequests).as("indirect requests").isPositive();
        assertThat(load.done[MixedLoad.Op.WRITE.ordinal()]).as("writes").isPositive();
        assertThat(load.done[MixedLoad.Op.READ.ordinal()]).as("reads").isPositive();
        assertThat(await(front.flush()).status()).isEqualTo(Response.OKAY);
        BlkifdRig.assertSameBytes(Files.readAllBytes(image), load.model, "the image against the model");
        assertThat(device.requestsSubmitted()).as("requests the back end served").isPositive();
        assertThat(device.bytesBounced()).as("bytes copied through bounce buffers").isZero();
    }

    /**
     * 64 indirect 1 MiB requests in flight on one queue against a region with room for about 7:
     * the rest wait for buffers, none fails, the data is right, and still nothing is bounced.
     */
    @Test
    void aFullRegionMakesRequestsWaitNotFail() throws Exception {
        start(80 * MIB, false, 8L * MIB, 1);
        SimBlkfront front = connect(FrontOptions.defaults().withQueues(1).withRingOrder(4));
        int depth = 64;
        assertThat((long) depth * MIB).as("more data in flight than the region holds")
                .isGreaterThan(device.bufferCapacityBytes() * 4);
        List<byte[]> data = new ArrayList<>();
        List<CompletableFuture<Response>> writes = new ArrayList<>();
        for (int i = 0; i < depth; i++) {
            data.add(bytes(MIB));
            writes.add(front.submit(0, Operation.WRITE, (long) i * (MIB / 512) + 8, data.get(i)));
        }
        for (int i = 0; i < depth; i++) {
            assertThat(await(writes.get(i)).status()).as("write " + i).isEqualTo(Response.OKAY);
        }
        List<CompletableFuture<Response>> reads = new ArrayList<>();
        for (int i = 0; i < depth; i++) {
            reads.add(front.submit(0, Operation.READ, (long) i * (MIB / 512) + 8, new byte[MIB]));
        }
        for (int i = 0; i < depth; i++) {
            Response r = await(reads.get(i));
            assertThat(r.status()).as("read " + i).isEqualTo(Response.OKAY);
            BlkifdRig.assertSameBytes(r.data(), data.get(i), "read " + i);
        }
        assertThat(await(front.flush()).status()).isEqualTo(Response.OKAY);
        byte[] file = Files.readAllBytes(image);
        for (int i = 0; i < depth; i++) {
            int at = i * MIB + 8 * 512;
            BlkifdRig.assertSameBytes(Arrays.copyOfRange(file, at, at + MIB), data.get(i), "image at request " + i);
        }
        assertThat(device.bufferWaits()).as("requests that waited for region room").isPositive();
        assertThat(device.bytesBounced()).as("bytes copied through bounce buffers").isZero();
        assertThat(front.protocolViolations()).isEmpty();
    }

    /**
     * The guest closes while the back end is stopped, with some requests holding region buffers
     * and more waiting for one: once the back end runs again every buffer comes back exactly once
     * (the region is whole; a second give would have thrown), no grant stays mapped, and a new
     * connection works with one copy.
     */
    @Test
    void aGuestLeavingWhileRequestsWaitForTheRegionGetsEveryBufferBack() throws Exception {
        start(80 * MIB, false, 8L * MIB, 1);
        SimBlkfront front = connect(FrontOptions.defaults().withQueues(1).withRingOrder(4));
        daemon.freeze();
        List<CompletableFuture<Response>> writes = new ArrayList<>();
        try {
            for (int i = 0; i < 32; i++) {
                writes.add(front.submit(0, Operation.WRITE, (long) i * (MIB / 512), bytes(MIB)));
            }
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (device.bufferWaits() == 0 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(device.bufferWaits()).as("requests waiting for region room").isPositive();
            CompletableFuture<Boolean> closed = CompletableFuture.supplyAsync(() -> {
                try {
                    return front.disconnect(WAIT);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
            XenstoreWaits.await(dom0.xenstore(), vbd.frontendPath() + "/state",
                    v -> v.isPresent() && v.get().trim().equals("6"), "frontend Closed", WAIT);
            Thread.sleep(300); // let the backend see it and stop answering the ring
            daemon.thaw();
            assertThat(closed.get(WAIT.toSeconds(), TimeUnit.SECONDS)).as("backend reached Closed").isTrue();
        } finally {
            daemon.thaw();
        }
        for (CompletableFuture<Response> w : writes) {
            // Answered or failed by the frontend's teardown: either way, finished.
            w.handle((response, e) -> true).get(WAIT.toSeconds(), TimeUnit.SECONDS);
        }
        assertNoLiveMappings();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (device.freeBufferBytes() != device.bufferCapacityBytes() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertThat(device.freeBufferBytes()).as("region bytes back").isEqualTo(device.bufferCapacityBytes());

        front.reconnect();
        byte[] data = bytes(MIB);
        assertThat(await(front.submit(0, Operation.WRITE, 4096, data)).status()).isEqualTo(Response.OKAY);
        Response r = await(front.submit(0, Operation.READ, 4096, new byte[MIB]));
        assertThat(r.status()).isEqualTo(Response.OKAY);
        BlkifdRig.assertSameBytes(r.data(), data, "read after reconnecting");
        assertThat(device.bytesBounced()).as("bytes copied through bounce buffers").isZero();
    }
}
