package org.spdksr.datapath.blkifd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.spdksr.datapath.blkif.Abi;
import org.spdksr.datapath.sim.blkfront.BackendInfo;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.FrontRequest;
import org.spdksr.datapath.sim.blkfront.FrontRing;
import org.spdksr.datapath.sim.blkfront.Operation;
import org.spdksr.datapath.sim.blkfront.RequestEncoder;
import org.spdksr.datapath.sim.blkfront.Response;
import org.spdksr.datapath.sim.blkfront.SegmentDescriptor;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;
import org.spdksr.datapath.sim.blkfront.XenbusState;
import org.spdksr.datapath.sim.blkfront.XenstoreWaits;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreWatch;

/**
 * Every transition of issue 4's "Handshake" section, against the real blkifd on a file device:
 * the connect sequence and its collapsed variants, frontend Closing and Closed (with I/O in
 * flight), reconnection after a reset, removal of the frontend directory, {@code online=0},
 * hotplug-status, online resize, and the connection variants (ABIs, ring orders, queues,
 * persistent grants, read-only write grants). After each test no grant mapping may be left.
 */
@Timeout(120)
class HandshakeTransitionsTest {
    @TempDir
    Path root;
    @TempDir
    static Path sharedRoot;
    private static BlkifdRig shared;
    private int rigs;
    private BlkifdRig rig;

    private BlkifdRig newRig(BlkifdRig.Config config) throws Exception {
        if (rig != null && rig != shared) {
            rig.close();
        }
        rig = BlkifdRig.start(root.resolve("rig" + rigs++), config);
        return rig;
    }

    private BlkifdRig newRig() throws Exception {
        return newRig(BlkifdRig.config());
    }

    /** For the connection variants: one rig reused, each test connects a new frontend and closes it. */
    private BlkifdRig sharedRig() throws Exception {
        if (shared != null && shared.backend.finished().isDone()) {
            shared.close();
            shared = null;
        }
        if (shared == null) {
            shared = BlkifdRig.start(sharedRoot.resolve("shared" + System.nanoTime()), BlkifdRig.config());
        }
        rig = shared;
        return rig;
    }

    @AfterEach
    void tearDown() throws Exception {
        if (rig == null) {
            return;
        }
        boolean clean = false;
        try {
            rig.closeFronts();
            rig.assertNoLiveMappings();
            clean = true;
        } finally {
            if (rig != shared) {
                rig.close();
            } else if (!clean) {
                shared.close();
                shared = null;
            }
            rig = null;
        }
    }

    @AfterAll
    static void closeShared() throws Exception {
        if (shared != null) {
            shared.close();
            shared = null;
        }
    }

    /** Records the distinct successive values of a xenstore node, as a watcher sees them. */
    private static final class StateRecorder implements AutoCloseable {
        final List<String> values = new CopyOnWriteArrayList<>();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final Thread thread;

        StateRecorder(Xenstore xs, String path) throws Exception {
            XenstoreWatch w = xs.watch(path);
            record(xs.readIfExists(path));
            thread = new Thread(() -> {
                try (w) {
                    while (running.get()) {
                        if (w.next(Duration.ofMillis(100)).isPresent()) {
                            record(xs.readIfExists(path));
                        }
                    }
                } catch (Exception e) {
                    values.add("recorder failed: " + e);
                }
            }, "state recorder " + path);
            thread.setDaemon(true);
            thread.start();
        }

        private void record(Optional<String> v) {
            String s = v.orElse("(missing)");
            if (values.isEmpty() || !values.get(values.size() - 1).equals(s)) {
                values.add(s);
            }
        }

        @Override
        public void close() throws Exception {
            running.set(false);
            thread.join(5000);
        }
    }

    private static FrontOptions plain() {
        return FrontOptions.defaults().withPersistentGrants(false);
    }

    // ---- connect -------------------------------------------------------------------------------

    @Test
    void normalConnectInitWaitInitialisedConnected() throws Exception {
        newRig();
        String b = rig.backendPath() + "/";
        // Before the frontend does anything: early features, InitWait, hotplug-status.
        assertThat(rig.backendState()).isEqualTo(XenbusState.INIT_WAIT);
        assertThat(rig.backendKey("max-ring-page-order")).contains("4");
        assertThat(rig.backendKey("multi-queue-max-queues")).contains("4");
        assertThat(rig.backendKey("feature-max-indirect-segments")).contains("256");
        assertThat(rig.backendKey("hotplug-status")).contains("connected");
        assertThat(rig.backendKey("sectors")).as("device properties come at Connected").isEmpty();

        SimBlkfront front = rig.front(plain());
        try (StateRecorder backend = new StateRecorder(rig.xs(), b + "state");
                StateRecorder frontend = new StateRecorder(rig.xs(), front.frontendPath() + "/state")) {
            BackendInfo info = front.connect();
            assertThat(info.sectors()).isEqualTo(rig.volumeSectors());
            assertThat(info.sectorSize()).isEqualTo(512);
            assertThat(info.flushCache()).isTrue();
            assertThat(info.barrier()).isTrue();
            assertThat(info.discard()).isTrue();
            assertThat(info.readOnly()).isFalse();
            rig.awaitBackendState(s -> s == XenbusState.CONNECTED, "Connected");
            XenstoreWaits.awaitValue(rig.xs(), front.frontendPath() + "/state", "4", BlkifdRig.WAIT);
            Thread.sleep(200); // let the recorders see the last events
            assertThat(backend.values).containsSubsequence("2", "4").endsWith("4");
            assertThat(frontend.values).containsSubsequence("1", "3", "4").endsWith("4");
        }
        assertThat(rig.backend.state()).isEqualTo(org.spdksr.datapath.blkifd.XenbusState.CONNECTED);
        rig.verifiedWriteRead(front, 0, 100, 8192);
        assertThat(front.disconnect(BlkifdRig.WAIT)).isTrue();
        assertThat(rig.backendState()).isEqualTo(XenbusState.CLOSED);
    }

    @Test
    void aFrontendThatDoesNotWaitForInitWait() throws Exception {
        newRig();
        SimBlkfront front = rig.connect(plain().withWaitForInitWait(false));
        assertThat(front.ringOrder()).as("defaults without InitWait").isZero();
        rig.verifiedWriteRead(front, 0, 8, 4096);
        front.disconnect(BlkifdRig.WAIT);
    }

    /**
     * A frontend that writes its keys and state 4 in one transaction: the backend only ever sees
     * Connected (collapsed watch events, §5.6 step 4). The test is the frontend here: one ring page,
     * one port, one write and one read through the ring by polling.
     */
    @Test
    void aFrontendSkippingStraightToConnected() throws Exception {
        newRig();
        Xenstore gxs = rig.guest.domain().xenstore();
        String fe = rig.vbd.frontendPath();
        int frame = rig.guest.pages().allocate(1);
        ByteBuffer shared = rig.guest.pages().map(frame, 1);
        FrontRing ring = FrontRing.initialise(shared, Abi.X86_64, 0);
        int ringRef = rig.domain.grant(frame, 0, false);
        int port = rig.guest.bindUnbound(0, () -> { });
        try (StateRecorder backend = new StateRecorder(rig.xs(), rig.backendPath() + "/state")) {
            gxs.transaction(tx -> {
                tx.write(fe + "/ring-ref", Integer.toString(ringRef));
                tx.write(fe + "/event-channel", Integer.toString(port));
                tx.write(fe + "/protocol", "x86_64-abi");
                tx.write(fe + "/state", "4");
                return null;
            });
            rig.awaitBackendState(s -> s == XenbusState.CONNECTED, "Connected");
            Thread.sleep(100);
            assertThat(backend.values).containsSubsequence("2", "4").doesNotContain("5", "6");
        }
        RequestEncoder enc = new RequestEncoder(Abi.X86_64, rig.vbd.devid());
        int dataFrame = rig.guest.pages().allocate(1);
        byte[] data = rig.randomBytes(4096);
        rig.guest.pages().page(dataFrame).put(0, data);
        int dataRef = rig.domain.grant(dataFrame, 0, false);
        Response w = roundTrip(ring, port, enc.encode(new FrontRequest.ReadWrite(1, 11, 24,
                List.of(SegmentDescriptor.of(dataRef, 0, 7)))));
        assertThat(w.id()).isEqualTo(11);
        assertThat(w.status()).isEqualTo(Response.OKAY);
        BlkifdRig.assertSameBytes(rig.fileRange(24, 4096), data, "written through the hand-made ring");
        rig.guest.pages().page(dataFrame).put(0, new byte[4096]);
        Response r = roundTrip(ring, port, enc.encode(new FrontRequest.ReadWrite(0, 12, 24,
                List.of(SegmentDescriptor.of(dataRef, 0, 7)))));
        assertThat(r.status()).isEqualTo(Response.OKAY);
        byte[] back = new byte[4096];
        rig.guest.pages().page(dataFrame).get(0, back);
        BlkifdRig.assertSameBytes(back, data, "read through the hand-made ring");

        gxs.write(fe + "/state", "5");
        rig.awaitBackendState(s -> s == XenbusState.CLOSING, "Closing");
        gxs.write(fe + "/state", "6");
        rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        rig.assertNoLiveMappings();
        rig.guest.unbind(port);
        rig.domain.revoke(ringRef);
        rig.domain.revoke(dataRef);
        rig.guest.pages().free(frame, 1);
        rig.guest.pages().free(dataFrame, 1);
    }

    private Response roundTrip(FrontRing ring, int port, byte[] slot) throws Exception {
        ring.putRequest(slot);
        if (ring.pushRequests()) {
            rig.guest.notify(port);
        }
        List<Response> got = new ArrayList<>();
        long deadline = System.nanoTime() + BlkifdRig.WAIT.toNanos();
        while (got.isEmpty() && System.nanoTime() < deadline) {
            ring.consumeResponses(got::add);
            Thread.sleep(1);
        }
        assertThat(got).hasSize(1);
        return got.get(0);
    }

    // ---- close ---------------------------------------------------------------------------------

    @Test
    void frontendClosingMakesTheBackendClosingThenClosedUnmaps() throws Exception {
        newRig();
        SimBlkfront front = rig.connect(plain().withFollowBackendClose(false));
        rig.verifiedWriteRead(front, 0, 8, 4096);
        front.hostile().setState(XenbusState.CLOSING);
        rig.awaitBackendState(s -> s == XenbusState.CLOSING, "Closing");
        assertThat(rig.liveMappings()).as("still mapped while Closing").isNotEmpty();
        front.hostile().setState(XenbusState.CLOSED);
        rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        rig.assertNoLiveMappings();
        assertThat(rig.backendKey("hotplug-status")).as("online=1: the disk stays plugged").contains("connected");
        front.disconnect(BlkifdRig.WAIT);
    }

    static Stream<Arguments> closedWithIoInFlight() {
        return Stream.of(Arguments.of("reads", true, false), Arguments.of("writes", false, false),
                Arguments.of("reads into persistent grants", true, true),
                Arguments.of("writes from persistent grants", false, true));
    }

    /**
     * Frontend Closed (without Closing first) while requests are in the device: the backend stops
     * taking requests, drains what is in flight without touching a grant or writing a response on
     * the dead ring, unmaps, and goes Closed; requests published after Closed are never taken.
     */
    @ParameterizedTest(name = "{0} in flight")
    @MethodSource("closedWithIoInFlight")
    void frontendClosedWithRequestsInFlight(String name, boolean reads, boolean persistent) throws Exception {
        newRig();
        SimBlkfront front = rig.connect(FrontOptions.defaults().withPersistentGrants(persistent)
                .withFollowBackendClose(false));
        var h = front.hostile();
        int ringRef = Integer.parseInt(rig.guest.domain().xenstore().readString(front.frontendPath() + "/ring-ref0")
                .trim());
        ByteBuffer header = rig.guest.pages().page(rig.domain.grantTable().entry(ringRef).frame())
                .order(ByteOrder.LITTLE_ENDIAN);
        rig.verifiedWriteRead(front, 0, 8, 4096);
        if (reads) {
            rig.device.readDelay(500);
        } else {
            rig.device.writeDelay(500);
        }
        long started = reads ? rig.device.reads.get() : rig.device.writes.get();
        List<CompletableFuture<Response>> inFlight = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            inFlight.add(reads ? front.read(64L * i, 8192) : front.write(64L * i, rig.randomBytes(8192)));
        }
        while ((reads ? rig.device.reads.get() : rig.device.writes.get()) - started < 8) {
            Thread.sleep(1);
        }
        // The queue's last pass ends by re-arming req_event (req_cons + 1, blkif.md §1.8): a write
        // to the guest's ring page that is still allowed, so the snapshot below waits for it.
        long armDeadline = System.nanoTime() + 5_000_000_000L;
        while (header.getInt(4) != header.getInt(0) + 1) {
            assertThat(System.nanoTime()).as("req_event never re-armed after the last request").isLessThan(armDeadline);
            Thread.sleep(1);
        }
        int rspProd = header.getInt(8);
        // All eight are in the device now; from here on no grant may be touched. Guest memory is
        // compared as a whole too, which also covers persistently mapped pages (written without
        // a grant operation).
        byte[] memory = java.nio.file.Files.readAllBytes(rig.domain.memory().file());
        rig.grants.fence();
        h.setState(XenbusState.CLOSED);
        rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        rig.assertNoLiveMappings();
        BlkifdRig.assertSameBytes(java.nio.file.Files.readAllBytes(rig.domain.memory().file()), memory,
                "guest memory after the frontend's Closed");
        long ioBefore = rig.device.reads.get() + rig.device.writes.get();
        // A request published on the dead ring is not taken.
        h.publish(0, new FrontRequest.ReadWrite(0, h.newId(0), 0, List.of(SegmentDescriptor.of(ringRef, 0, 7))));
        Thread.sleep(300);
        assertThat(rig.device.reads.get() + rig.device.writes.get()).as("I/O after Closed").isEqualTo(ioBefore);
        assertThat(header.getInt(8)).as("rsp_prod on the dead ring").isEqualTo(rspProd);
        assertThat(rig.grants.touchedAfterFence()).as("grant operations after the frontend's Closed").isEmpty();
        assertThat(inFlight).noneMatch(CompletableFuture::isDone);
        rig.grants.unfence();
        rig.device.readDelay(0);
        rig.device.writeDelay(0);
        front.disconnect(BlkifdRig.WAIT);
        assertThat(inFlight).allMatch(CompletableFuture::isCompletedExceptionally);
    }

    @ParameterizedTest(name = "persistent grants {0}")
    @ValueSource(booleans = {false, true})
    void reconnectionAfterAFrontendResetKeepsTheData(boolean persistent) throws Exception {
        newRig();
        SimBlkfront front = rig.connect(FrontOptions.defaults().withPersistentGrants(persistent).withRingOrder(1));
        byte[] data = rig.randomBytes(64 * 1024);
        assertThat(front.write(256, data).get(30, TimeUnit.SECONDS).status()).isEqualTo(Response.OKAY);
        int firstRing = Integer.parseInt(rig.guest.domain().xenstore().readString(front.frontendPath() + "/ring-ref0")
                .trim());
        assertThat(front.disconnect(BlkifdRig.WAIT)).isTrue();
        rig.assertNoLiveMappings();
        // Guest reboot: Closed, then Initialising, a new ring (another order, more queues), the data still there.
        SimBlkfront again = rig.front(FrontOptions.defaults().withPersistentGrants(persistent).withRingOrder(3)
                .withQueues(2));
        again.reconnect();
        assertThat(again.queueCount()).isEqualTo(2);
        assertThat(again.ringOrder()).isEqualTo(3);
        assertThat(rig.backend.queueCount()).isEqualTo(2);
        Response r = again.submit(1, Operation.READ, 256, new byte[data.length]).get(30, TimeUnit.SECONDS);
        assertThat(r.status()).isEqualTo(Response.OKAY);
        BlkifdRig.assertSameBytes(r.data(), data, "data after the reconnection");
        rig.verifiedWriteRead(again, 0, 1024, 4096);
        assertThat(firstRing).isPositive();
        // And a third time, the same driver object.
        again.disconnect(BlkifdRig.WAIT);
        again.reconnect();
        rig.verifiedWriteRead(again, 1, 2048, 4096);
        again.disconnect(BlkifdRig.WAIT);
    }

    @Test
    void removalOfTheFrontendDirectoryTearsDown() throws Exception {
        newRig();
        SimBlkfront front = rig.connect(plain());
        rig.verifiedWriteRead(front, 0, 8, 4096);
        rig.guest.domain().xenstore().rm(front.frontendPath());
        rig.backend.finished().get(30, TimeUnit.SECONDS);
        rig.assertNoLiveMappings();
        XenstoreWaits.awaitGone(rig.xs(), rig.backendPath() + "/hotplug-status", BlkifdRig.WAIT);
        assertThat(rig.blkifd.disks()).isEmpty();
        front.close();
    }

    @Test
    void hardUnplugOnlineZeroAndFrontendDeleted() throws Exception {
        newRig();
        SimBlkfront front = rig.connect(plain());
        rig.verifiedWriteRead(front, 0, 8, 4096);
        rig.xenopsd.unplugHard(rig.vbd);
        rig.xenopsd.awaitHotplugRemoved(rig.vbd, BlkifdRig.WAIT);
        rig.backend.finished().get(30, TimeUnit.SECONDS);
        rig.assertNoLiveMappings();
        rig.xenopsd.removeTrees(rig.vbd);
        front.close();
        assertThat(rig.blkifd.disks()).isEmpty();
        // The toolstack can plug the disk again on the same blkifd.
        rig.plug();
        SimBlkfront next = rig.connect(plain());
        rig.verifiedWriteRead(next, 0, 8, 4096);
        next.disconnect(BlkifdRig.WAIT);
    }

    @Test
    void cleanUnplugOnlineZeroWithTheFrontendFollowing() throws Exception {
        newRig();
        SimBlkfront front = rig.connect(FrontOptions.defaults());
        rig.verifiedWriteRead(front, 0, 8, 4096);
        rig.xenopsd.unplugClean(rig.vbd, BlkifdRig.WAIT);
        rig.backend.finished().get(30, TimeUnit.SECONDS);
        front.disconnection().get(30, TimeUnit.SECONDS);
        assertThat(rig.xs().readIfExists(rig.backendPath())).isEmpty();
        rig.assertNoLiveMappings();
        assertThat(rig.guest.pages().inUse()).as("guest rings and pools freed").isZero();
    }

    @Test
    void onlineZeroBeforeTheFrontendEverConnected() throws Exception {
        newRig();
        rig.xenopsd.requestClose(rig.vbd);
        rig.backend.finished().get(30, TimeUnit.SECONDS);
        rig.xenopsd.awaitHotplugRemoved(rig.vbd, BlkifdRig.WAIT);
        rig.assertNoLiveMappings();
        assertThat(rig.backendState()).isIn(XenbusState.CLOSED, XenbusState.CLOSING);
    }

    @Test
    void onlineZeroWhileConnectedThenFrontendClosed() throws Exception {
        newRig();
        SimBlkfront front = rig.connect(plain().withFollowBackendClose(false));
        rig.verifiedWriteRead(front, 0, 8, 4096);
        rig.xenopsd.requestClose(rig.vbd); // online=0, backend Closing
        // The frontend has not closed yet: the ring keeps working until it does.
        rig.verifiedWriteRead(front, 0, 16, 4096);
        front.hostile().setState(XenbusState.CLOSING);
        front.hostile().setState(XenbusState.CLOSED);
        rig.backend.finished().get(30, TimeUnit.SECONDS);
        rig.xenopsd.awaitHotplugRemoved(rig.vbd, BlkifdRig.WAIT);
        rig.assertNoLiveMappings();
        rig.xenopsd.removeTrees(rig.vbd);
        front.close();
    }

    // ---- resize --------------------------------------------------------------------------------

    /**
     * After an online resize the new space must be usable at once (it was once refused: the
     * request checks kept the size from connect time).
     */
    @Test
    void onlineResizeRewritesSectorsAndStateAndTheNewSpaceWorks() throws Exception {
        newRig();
        SimBlkfront front = rig.connect(plain());
        long old = rig.volumeSectors();
        long grown = old + 2048;
        try (StateRecorder backend = new StateRecorder(rig.xs(), rig.backendPath() + "/state")) {
            try (FileChannel ch = FileChannel.open(rig.volume, StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[1]), grown * 512 - 1);
            }
            rig.backend.resized();
            assertThat(rig.backendKey("sectors")).contains(Long.toString(grown));
            long deadline = System.nanoTime() + BlkifdRig.WAIT.toNanos();
            while (front.sectors() != grown && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(front.sectors()).as("the frontend saw the state rewritten and read sectors").isEqualTo(grown);
            assertThat(rig.backendState()).isEqualTo(XenbusState.CONNECTED);
        }
        rig.verifiedWriteRead(front, 0, 8, 4096);
        rig.verifiedWriteRead(front, 0, old + 1000, 8192); // in the new space
        Response past = front.read(grown - 4, 4096).get(30, TimeUnit.SECONDS);
        assertThat(past.status()).as("still bounded by the new size").isEqualTo(Response.ERROR);
        front.disconnect(BlkifdRig.WAIT);
    }

    @Test
    void resizeWithoutChangeOrWhileNotConnectedWritesNothing() throws Exception {
        newRig();
        rig.backend.resized(); // not connected: nothing to tell
        assertThat(rig.backendKey("sectors")).isEmpty();
        SimBlkfront front = rig.connect(plain());
        rig.backend.resized(); // same size
        assertThat(rig.backendKey("sectors")).contains(Long.toString(rig.volumeSectors()));
        front.disconnect(BlkifdRig.WAIT);
    }

    // ---- connection variants ---------------------------------------------------------------------

    static Stream<Arguments> variants() {
        return Stream.of(
                Arguments.of("x86_64-abi", FrontOptions.defaults().withAbi(Abi.X86_64)),
                Arguments.of("x86_32-abi", FrontOptions.defaults().withAbi(Abi.X86_32)),
                Arguments.of("x86_32 without protocol key", FrontOptions.defaults().withAbi(Abi.X86_32)
                        .withProtocolKey(false)),
                Arguments.of("ring order 0", FrontOptions.defaults().withRingOrder(0)),
                Arguments.of("ring order 1", FrontOptions.defaults().withRingOrder(1)),
                Arguments.of("ring order 2", FrontOptions.defaults().withRingOrder(2)),
                Arguments.of("ring order 3", FrontOptions.defaults().withRingOrder(3)),
                Arguments.of("ring order 4", FrontOptions.defaults().withRingOrder(4)),
                Arguments.of("ring order 4, x86_32", FrontOptions.defaults().withRingOrder(4).withAbi(Abi.X86_32)),
                Arguments.of("2 queues", FrontOptions.defaults().withQueues(2)),
                Arguments.of("4 queues", FrontOptions.defaults().withQueues(4)),
                Arguments.of("4 queues, x86_32, order 1", FrontOptions.defaults().withQueues(4).withAbi(Abi.X86_32)
                        .withRingOrder(1)),
                Arguments.of("persistent grants on", FrontOptions.defaults().withPersistentGrants(true)),
                Arguments.of("persistent grants off", FrontOptions.defaults().withPersistentGrants(false)),
                Arguments.of("windows: read-only write grants", FrontOptions.windows()),
                Arguments.of("read-only write grants with persistent grants",
                        FrontOptions.defaults().withReadOnlyWriteGrants(true)),
                Arguments.of("always indirect", FrontOptions.defaults().withIndirect(FrontOptions.IndirectPolicy.ALWAYS)),
                Arguments.of("never indirect", FrontOptions.defaults().withIndirect(FrontOptions.IndirectPolicy.NEVER)),
                Arguments.of("stock linux", FrontOptions.stockLinux()));
    }

    /**
     * Each variant: what was negotiated is what was asked, every queue carries verified I/O (up to
     * twice the ring's depth at once), and closing leaves no mapping.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("variants")
    void connectionVariant(String name, FrontOptions options) throws Exception {
        sharedRig();
        SimBlkfront front = rig.front(options);
        front.reconnect();
        assertThat(front.queueCount()).isEqualTo(options.queues());
        assertThat(rig.backend.queueCount()).isEqualTo(options.queues());
        assertThat(front.ringOrder()).isEqualTo(options.ringOrder());
        assertThat(rig.backend.connection()).get().satisfies(c -> {
            assertThat(c.abi()).isEqualTo(options.abi());
            assertThat(c.ringPageOrder()).isEqualTo(options.ringOrder());
            assertThat(c.persistent()).isEqualTo(options.persistentGrants());
        });
        assertThat(front.persistentGrantsInUse()).isEqualTo(options.persistentGrants());
        int perQueue = 2 * front.ringEntries();
        List<CompletableFuture<Response>> writes = new ArrayList<>();
        List<byte[]> data = new ArrayList<>();
        for (int q = 0; q < options.queues(); q++) {
            for (int i = 0; i < Math.min(perQueue, 8192 / 8 / options.queues()); i++) {
                byte[] d = rig.randomBytes(4096);
                data.add(d);
                writes.add(front.submit(q, Operation.WRITE, 8L * (data.size() - 1), d));
            }
        }
        for (CompletableFuture<Response> w : writes) {
            assertThat(w.get(60, TimeUnit.SECONDS).status()).isEqualTo(Response.OKAY);
        }
        for (int i = 0; i < data.size(); i++) {
            BlkifdRig.assertSameBytes(rig.fileRange(8L * i, 4096), data.get(i), "file page " + i);
        }
        // A large (indirect when allowed) unaligned request on every queue.
        for (int q = 0; q < options.queues(); q++) {
            // 200 sectors at sector 3 of the first page: 26 pages, indirect; 80 sectors fit 11 segments.
            int sectors = options.indirect() == FrontOptions.IndirectPolicy.NEVER ? 80 : 200;
            byte[] big = rig.randomBytes(sectors * 512);
            assertThat(front.submit(q, Operation.WRITE, 4000 + q * 300L, big, 3).get(30, TimeUnit.SECONDS).status())
                    .isEqualTo(Response.OKAY);
            Response r = front.submit(q, Operation.READ, 4000 + q * 300L, new byte[big.length], 5)
                    .get(30, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(Response.OKAY);
            BlkifdRig.assertSameBytes(r.data(), big, "large request on queue " + q);
        }
        if (options.persistentGrants()) {
            assertThat(rig.liveMappings()).as("ring mappings plus persistent grants").hasSizeGreaterThan(options.queues());
        }
        assertThat(front.protocolViolations()).isEmpty();
        assertThat(front.disconnect(BlkifdRig.WAIT)).isTrue();
        rig.assertNoLiveMappings();
        rig.assertContained();
    }

    @Test
    void persistentGrantsNeedBothSides() throws Exception {
        newRig(BlkifdRig.config().withFeatures(new BackendFeatures(4, 4, 256, 0)));
        SimBlkfront front = rig.connect(FrontOptions.defaults().withPersistentGrants(true));
        assertThat(rig.backendKey("feature-persistent")).contains("0");
        assertThat(front.persistentGrantsInUse()).isFalse();
        rig.verifiedWriteRead(front, 0, 8, 64 * 1024);
        assertThat(rig.liveMappings()).as("only the ring is mapped").hasSize(1);
        front.disconnect(BlkifdRig.WAIT);
    }

    @Test
    void aReadOnlyDiskConnectsReadOnly() throws Exception {
        newRig(BlkifdRig.config().withReadOnly(true));
        SimBlkfront front = rig.connect(FrontOptions.windows());
        assertThat(front.backendInfo().readOnly()).isTrue();
        assertThat(rig.backendKey("info")).contains("4");
        Response r = front.read(0, 4096).get(30, TimeUnit.SECONDS);
        assertThat(r.status()).isEqualTo(Response.OKAY);
        assertThat(front.write(0, new byte[4096]).get(30, TimeUnit.SECONDS).status()).isEqualTo(Response.ERROR);
        front.disconnect(BlkifdRig.WAIT);
        rig.assertContained();
    }
}
