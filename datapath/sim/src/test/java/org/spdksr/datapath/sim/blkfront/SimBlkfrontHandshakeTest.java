package org.spdksr.datapath.sim.blkfront;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.blkif.Abi;
import org.spdksr.datapath.sim.xenopsd.SimXenopsd;
import org.spdksr.datapath.sim.xenopsd.Vbd;
import org.spdksr.datapath.sim.xenopsd.VbdSpec;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.XenAccessConfig;
import org.spdksr.datapath.xen.XenAccessFactory;
import org.spdksr.datapath.xen.sim.SimDomain;
import org.spdksr.datapath.xen.sim.SimXenHost;

/**
 * The frontend half of the handshake (blkif.md §5.5, §5.6) against a scripted backend that plays
 * InitWait and Connected with the real xenstore client, then I/O through the rings it maps.
 */
@Timeout(120)
class SimBlkfrontHandshakeTest {
    private static final int GUEST = 3;
    private static final Duration WAIT = Duration.ofSeconds(20);
    @TempDir
    Path root;
    private SimXenHost host;
    private XenAccess dom0;
    private SimDomain domain;
    private SimGuest guest;
    private Vbd vbd;
    private ScriptedBackend backend;

    @BeforeEach
    void setUp() throws Exception {
        host = SimXenHost.start(root);
        host.createDomain(GUEST, 2048, 4096);
        dom0 = XenAccessFactory.open(XenAccessConfig.sim(root));
        domain = SimDomain.attach(host.layout(), GUEST);
        guest = new SimGuest(domain, 16);
        vbd = new SimXenopsd(dom0.xenstore()).plug(VbdSpec.qdisk(GUEST, "xvda", false, "/dev/null", Map.of()));
        backend = new ScriptedBackend(dom0, vbd.backendPath(), GUEST, 8192);
    }

    @AfterEach
    void tearDown() throws Exception {
        backend.close();
        guest.close();
        domain.close();
        dom0.close();
        host.close();
    }

    private CompletableFuture<BackendInfo> connectAsync(SimBlkfront front) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return front.connect();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    }

    @Test
    void singleQueueMultiPageRingWritesTheLinuxKeys() throws Exception {
        SimBlkfront front = new SimBlkfront(guest, vbd.devid(), FrontOptions.defaults().withRingOrder(2));
        CompletableFuture<BackendInfo> connected = connectAsync(front);
        backend.initWait(3, 4);
        backend.connectWhenInitialised(vbd.frontendPath(), true, 64);
        BackendInfo info = connected.get(20, TimeUnit.SECONDS);
        Map<String, String> k = backend.seenFrontendKeys;
        assertThat(k).containsEntry("ring-page-order", "2").containsEntry("protocol", "x86_64-abi")
                .containsEntry("feature-persistent", "1").containsKeys("ring-ref0", "ring-ref1", "ring-ref2",
                        "ring-ref3", "event-channel")
                .doesNotContainKeys("ring-ref", "multi-queue-num-queues", "queue-0/event-channel");
        assertThat(info.sectors()).isEqualTo(8192);
        assertThat(info.maxIndirectSegments()).isEqualTo(64);
        assertThat(front.state()).isEqualTo(XenbusState.CONNECTED);
        assertThat(front.ringEntries()).isEqualTo(128);
        assertThat(front.persistentGrantsInUse()).isTrue();

        byte[] data = pattern(100 * 512, 1); // 13 pages: more than a slot holds
        assertThat(front.write(100, data).get(10, TimeUnit.SECONDS).ok()).isTrue();
        Response r = front.read(100, data.length).get(10, TimeUnit.SECONDS);
        assertThat(r.ok()).isTrue();
        assertThat(r.data()).isEqualTo(data);
        assertThat(backend.seenOps).contains(6);
        assertThat(front.flush().get(10, TimeUnit.SECONDS).ok()).isTrue();
        assertThat(front.discard(100, 8).get(10, TimeUnit.SECONDS).ok()).isTrue();
        assertThat(front.read(100, 4096).get(10, TimeUnit.SECONDS).data()).isEqualTo(new byte[4096]);
        assertThat(front.protocolViolations()).isEmpty();
    }

    @Test
    void orderZeroWritesRingRefAndNoOrderKey() throws Exception {
        SimBlkfront front = new SimBlkfront(guest, vbd.devid(), FrontOptions.stockLinux());
        CompletableFuture<BackendInfo> connected = connectAsync(front);
        backend.initWait(4, 1);
        backend.connectWhenInitialised(vbd.frontendPath(), false, 0);
        connected.get(20, TimeUnit.SECONDS);
        assertThat(backend.seenFrontendKeys).containsKeys("ring-ref", "event-channel")
                .doesNotContainKeys("ring-page-order", "ring-ref0");
        assertThat(front.ringEntries()).isEqualTo(32);
        assertThat(front.persistentGrantsInUse()).isFalse();
        assertThat(front.indirectSegments()).isZero();
    }

    @Test
    void multiQueueX86_32MovesRingKeysIntoQueueDirectories() throws Exception {
        SimBlkfront front = new SimBlkfront(guest, vbd.devid(),
                FrontOptions.defaults().withAbi(Abi.X86_32).withQueues(3).withRingOrder(1));
        CompletableFuture<BackendInfo> connected = connectAsync(front);
        backend.initWait(4, 2);
        backend.connectWhenInitialised(vbd.frontendPath(), true, 0);
        connected.get(20, TimeUnit.SECONDS);
        assertThat(backend.seenFrontendKeys).containsEntry("multi-queue-num-queues", "2")
                .containsEntry("protocol", "x86_32-abi").containsEntry("ring-page-order", "1")
                .containsKeys("queue-0/ring-ref0", "queue-0/ring-ref1", "queue-0/event-channel",
                        "queue-1/ring-ref0", "queue-1/event-channel")
                .doesNotContainKeys("event-channel", "ring-ref0", "queue-2/event-channel");
        assertThat(front.queueCount()).isEqualTo(2);
        byte[] a = pattern(4096, 2);
        byte[] b = pattern(8 * 4096, 3);
        assertThat(front.submit(0, Operation.WRITE, 0, a).get(10, TimeUnit.SECONDS).ok()).isTrue();
        assertThat(front.submit(1, Operation.WRITE, 64, b, 3).get(10, TimeUnit.SECONDS).ok()).isTrue();
        assertThat(front.submit(1, Operation.READ, 0, new byte[4096]).get(10, TimeUnit.SECONDS).data()).isEqualTo(a);
        assertThat(front.submit(0, Operation.READ, 64, new byte[8 * 4096], 5).get(10, TimeUnit.SECONDS).data())
                .isEqualTo(b);
    }

    @Test
    void windowsStyleGrantsWritesReadOnlyAndOmittingProtocolMeansX86_32() throws Exception {
        SimBlkfront front = new SimBlkfront(guest, vbd.devid(),
                FrontOptions.windows().withAbi(Abi.X86_32).withProtocolKey(false));
        CompletableFuture<BackendInfo> connected = connectAsync(front);
        backend.initWait(4, 1);
        backend.connectWhenInitialised(vbd.frontendPath(), false, 256);
        connected.get(20, TimeUnit.SECONDS);
        assertThat(backend.seenFrontendKeys).doesNotContainKey("protocol").containsEntry("feature-persistent", "0");
        byte[] big = pattern(64 * 4096, 4);
        assertThat(front.write(0, big).get(10, TimeUnit.SECONDS).ok()).isTrue();
        assertThat(backend.seenOps).containsExactly(6);
        assertThat(backend.seenGrantsWritable).hasSize(64).containsOnly(false);
        assertThat(front.read(0, big.length).get(10, TimeUnit.SECONDS).data()).isEqualTo(big);
        assertThat(domainGrantsInUse()).as("non-persistent grants are ended after each request").isLessThan(20);
    }

    @Test
    void skippingInitWaitUsesDefaultsAndManyRequestsWrapTheRing() throws Exception {
        SimBlkfront front = new SimBlkfront(guest, vbd.devid(), FrontOptions.defaults().withWaitForInitWait(false));
        CompletableFuture<BackendInfo> connected = connectAsync(front);
        backend.connectWhenInitialised(vbd.frontendPath(), true, 0);
        connected.get(20, TimeUnit.SECONDS);
        assertThat(backend.seenFrontendKeys).containsKey("ring-ref").doesNotContainKey("ring-page-order");
        CompletableFuture<?>[] all = new CompletableFuture<?>[200];
        for (int i = 0; i < all.length; i++) {
            all[i] = front.write(i * 8L, pattern(4096, i));
        }
        CompletableFuture.allOf(all).get(30, TimeUnit.SECONDS);
        for (int i = 0; i < 200; i += 37) {
            assertThat(front.read(i * 8L, 4096).get(10, TimeUnit.SECONDS).data()).isEqualTo(pattern(4096, i));
        }
        assertThat(front.persistentGrants()).as("the pool is reused, not grown per request").isLessThanOrEqualTo(32);
    }

    @Test
    void closeAndReconnectLikeARebootingGuest() throws Exception {
        SimBlkfront front = new SimBlkfront(guest, vbd.devid(), FrontOptions.defaults());
        CompletableFuture<BackendInfo> connected = connectAsync(front);
        backend.initWait(2, 1);
        backend.connectWhenInitialised(vbd.frontendPath(), true, 0);
        connected.get(20, TimeUnit.SECONDS);
        assertThat(front.write(0, pattern(512, 9)).get(10, TimeUnit.SECONDS).ok()).isTrue();
        String firstRef = backend.seenFrontendKeys.get("ring-ref0");

        CompletableFuture<Void> follow = CompletableFuture.runAsync(() -> {
            try {
                backend.followClose(vbd.frontendPath());
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        assertThat(front.disconnect(WAIT)).isTrue();
        follow.get(20, TimeUnit.SECONDS);
        assertThat(front.state()).isEqualTo(XenbusState.CLOSED);
        assertThat(front.connected()).isFalse();
        assertThatThrownBy(() -> front.read(0, 512)).isInstanceOf(IllegalStateException.class);
        assertThat(guest.pages().inUse()).as("rings and pools freed").isZero();

        backend.seenFrontendKeys.clear();
        CompletableFuture<BackendInfo> again = CompletableFuture.supplyAsync(() -> {
            try {
                return front.reconnect();
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        XenstoreWaits.awaitValue(dom0.xenstore(), vbd.frontendPath() + "/state", "1", WAIT);
        backend.initWait(2, 1);
        backend.connectWhenInitialised(vbd.frontendPath(), true, 0);
        again.get(20, TimeUnit.SECONDS);
        assertThat(backend.seenFrontendKeys.get("ring-ref0")).isNotNull();
        assertThat(front.read(0, 512).get(10, TimeUnit.SECONDS).data()).isEqualTo(pattern(512, 9));
        assertThat(firstRef).isNotNull();
    }

    @Test
    void keyOverridesAndABackendThatNeverConnectsAreReported() throws Exception {
        SimBlkfront front = new SimBlkfront(guest, vbd.devid(), FrontOptions.defaults()
                .withKeyOverride("ring-page-order", "9").withKeyOverride("event-channel", "garbage")
                .withKeyOverride("protocol", null).withTimeout(Duration.ofSeconds(1)));
        backend.initWait(4, 1);
        assertThatThrownBy(front::connect).isInstanceOf(TimeoutException.class).hasMessageContaining("Connected");
        String f = vbd.frontendPath() + "/";
        assertThat(dom0.xenstore().readString(f + "ring-page-order")).isEqualTo("9");
        assertThat(dom0.xenstore().readString(f + "event-channel")).isEqualTo("garbage");
        assertThat(dom0.xenstore().readIfExists(f + "protocol")).isEmpty();
        assertThat(guest.pages().inUse()).as("a failed handshake frees its rings").isZero();
    }

    @Test
    void loadGeneratorVerifiesAMixedLoadAcrossQueues() throws Exception {
        SimBlkfront front = new SimBlkfront(guest, vbd.devid(), FrontOptions.defaults().withQueues(2).withRingOrder(1));
        CompletableFuture<BackendInfo> connected = connectAsync(front);
        backend.initWait(4, 4);
        backend.connectWhenInitialised(vbd.frontendPath(), true, 32);
        connected.get(20, TimeUnit.SECONDS);
        LoadReport report = new LoadGenerator(front, LoadSpec.mixed(16, 3000, 4096, 42)).run();
        assertThat(report.problems()).isEmpty();
        assertThat(report.clean()).isTrue();
        assertThat(report.requests()).isEqualTo(3000);
        assertThat(report.reads()).isPositive();
        assertThat(report.writes()).isPositive();
        assertThat(report.flushes()).isPositive();
        assertThat(report.discards()).isPositive();
        assertThat(report.bytesRead() + report.bytesWritten()).isPositive();
        assertThat(backend.seenOps).contains(0, 1, 3, 5, 6);
        assertThat(front.inFlight()).isZero();
        assertThat(front.protocolViolations()).isEmpty();
    }

    @Test
    void loadGeneratorCatchesABackendThatReturnsWrongData() throws Exception {
        SimBlkfront front = new SimBlkfront(guest, vbd.devid(), FrontOptions.stockLinux());
        CompletableFuture<BackendInfo> connected = connectAsync(front);
        backend.initWait(0, 1);
        backend.connectWhenInitialised(vbd.frontendPath(), false, 0);
        connected.get(20, TimeUnit.SECONDS);
        LoadGenerator gen = new LoadGenerator(front, new LoadSpec(4, 400, Duration.ofMinutes(1), 0, 64, 8, 8,
                0, 1, 0, 0, true, 1));
        assertThat(gen.run().clean()).isTrue();
        Arrays.fill(backend.disk, 0, 64 * 512, (byte) 0x5a); // corrupt the disk behind the frontend's back
        LoadReport report = new LoadGenerator(front, new LoadSpec(4, 50, Duration.ofMinutes(1), 0, 64, 8, 8,
                1, 0, 0, 0, true, 2)).run();
        assertThat(report.mismatches()).isZero(); // a fresh generator knows nothing yet
        assertThat(gen.model().check(0, front.read(0, 4096).get(10, TimeUnit.SECONDS).data())).isNotNull();
    }

    private int domainGrantsInUse() {
        int n = 0;
        for (int ref = 8; ref < domain.grantTable().size(); ref++) {
            n += domain.grantTable().entry(ref).permitsAccess() ? 1 : 0;
        }
        return n;
    }

    static byte[] pattern(int length, int seed) {
        byte[] b = new byte[length];
        new Random(seed).nextBytes(b);
        return b;
    }

    static boolean same(byte[] a, byte[] b) {
        return Arrays.equals(a, b);
    }
}
