package org.spdksr.datapath.blkifd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.HostileFront;
import org.spdksr.datapath.sim.blkfront.Operation;
import org.spdksr.datapath.sim.blkfront.Response;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;
import org.spdksr.datapath.sim.blkfront.XenbusState;
import org.spdksr.datapath.xen.sim.grant.SimGuestMemory;

/**
 * Hostile and crashing guests while I/O is in the device (issue 18, items 4 and 5): the frontend
 * closes, its state node or directory vanishes, or the whole domain is destroyed, while reads or
 * writes are held in the device. By the time the backend says Closed nothing of the guest may be
 * mapped, also when the device has not answered yet (the backend waits {@link BlkifdRig#DRAIN}
 * and then lets that I/O keep its own buffer, not the guest's pages); when the device answers
 * later, no grant is touched, no byte of guest memory changes (persistently mapped pages
 * included) and blkifd does not crash; afterwards the disk serves a new connection.
 */
@Timeout(120)
class HostileGuestTeardownTest {
    private static final int IN_FLIGHT = 8;
    private static final FrontOptions PERSISTENT = FrontOptions.defaults().withRingOrder(2).withPersistentGrants(true)
            .withFollowBackendClose(false);

    @TempDir
    Path root;
    private BlkifdRig rig;

    @AfterEach
    void tearDown() throws Exception {
        if (rig != null) {
            try {
                rig.closeFronts();
                rig.assertNoLiveMappings();
                rig.assertContained();
            } finally {
                rig.close();
            }
        }
    }

    /** Requests held in the device, and what the test needs to check after they are answered. */
    private record Held(List<CompletableFuture<Response>> requests, byte[] guestMemory) {
    }

    /**
     * {@code IN_FLIGHT} reads or writes on queue 0 that the device holds; returns once the device has
     * them all and the queue is idle (its last pass re-armed req_event, a legal ring write), with a
     * copy of guest memory taken then. From here on, a correct backend writes no guest memory.
     */
    private Held holdInFlight(SimBlkfront front, boolean reads) throws Exception {
        rig.verifiedWriteRead(front, 0, 8, 4096); // persistent grants mapped before the hold
        rig.device.hold();
        long started = reads ? rig.device.reads.get() : rig.device.writes.get();
        List<CompletableFuture<Response>> requests = new ArrayList<>();
        for (int i = 0; i < IN_FLIGHT; i++) {
            requests.add(reads ? front.read(64L * i, 8192) : front.write(64L * i, rig.randomBytes(8192)));
        }
        awaitTrue(() -> (reads ? rig.device.reads.get() : rig.device.writes.get()) - started == IN_FLIGHT,
                "the device has all " + IN_FLIGHT + " requests");
        ByteBuffer header = ringHeader(front);
        awaitTrue(() -> header.getInt(4) == header.getInt(0) + 1, "req_event re-armed after the last request");
        return new Held(requests, guestMemory());
    }

    private ByteBuffer ringHeader(SimBlkfront front) throws Exception {
        int ringRef = Integer.parseInt(rig.guest.domain().xenstore().readString(front.frontendPath() + "/ring-ref0")
                .trim());
        return rig.guest.pages().page(rig.domain.grantTable().entry(ringRef).frame()).order(ByteOrder.LITTLE_ENDIAN);
    }

    private byte[] guestMemory() {
        SimGuestMemory memory = rig.domain.memory();
        byte[] all = new byte[memory.pages() * SimGuestMemory.PAGE_SIZE];
        for (int f = 0; f < memory.pages(); f++) {
            memory.page(f).get(0, all, f * SimGuestMemory.PAGE_SIZE, SimGuestMemory.PAGE_SIZE);
        }
        return all;
    }

    /** Lets the device answer and waits until the backend's completion code for each has run. */
    private void releaseAndAwaitAnswers() throws Exception {
        long answered = rig.device.heldAnswered.get();
        rig.device.release();
        awaitTrue(() -> rig.device.heldAnswered.get() - answered >= IN_FLIGHT, "the device answered the held requests");
    }

    /** After the device answered: no grant touched, no byte of guest memory changed. */
    private void assertGuestUntouched(Held held) {
        assertThat(rig.grants.touchedAfterFence()).as("grant operations after the guest left").isEmpty();
        BlkifdRig.assertSameBytes(guestMemory(), held.guestMemory(), "guest memory after the guest left");
    }

    private static void awaitTrue(java.util.function.BooleanSupplier condition, String what) throws Exception {
        long deadline = System.nanoTime() + BlkifdRig.WAIT.toNanos();
        while (!condition.getAsBoolean()) {
            assertThat(System.nanoTime()).as("waiting for: " + what).isLessThan(deadline);
            Thread.sleep(1);
        }
    }

    /** A Closed was written since {@code before} writes, and nothing was mapped at any of them. */
    private void assertClosedWithNothingMapped(int before) {
        assertThat(rig.closedWrites()).as("Closed written by the backend").hasSizeGreaterThan(before);
        rig.assertNoLiveMappings();
    }

    // ---- the frontend closes while the device does not answer ------------------------------------

    static Stream<Arguments> ops() {
        return Stream.of(Arguments.of("reads", true), Arguments.of("writes", false));
    }

    /**
     * Frontend Closed while the device holds every request past the drain time: the backend must
     * still unmap everything (ring, persistent grants) before it says Closed. It used to keep the
     * ring and the persistent grants mapped "until the I/O finishes", past its own Closed: on real
     * Xen the frontend then revokes those grants and gntdev keeps the pages.
     */
    @ParameterizedTest(name = "{0} held in the device")
    @MethodSource("ops")
    void theFrontendClosesWhileTheDeviceDoesNotAnswer(String name, boolean reads) throws Exception {
        rig = BlkifdRig.start(root.resolve("rig"), BlkifdRig.config());
        SimBlkfront front = rig.connect(PERSISTENT);
        HostileFront h = front.hostile();
        Held held = holdInFlight(front, reads);
        int closedBefore = rig.closedWrites().size();
        rig.grants.fence();
        h.setState(XenbusState.CLOSED);
        rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        assertClosedWithNothingMapped(closedBefore);
        assertThat(held.requests()).as("requests the device has not answered").noneMatch(CompletableFuture::isDone);
        releaseAndAwaitAnswers();
        assertGuestUntouched(held);
        rig.grants.unfence();
        front.disconnect(BlkifdRig.WAIT);
        assertThat(held.requests()).allMatch(CompletableFuture::isCompletedExceptionally);
        // The same disk serves the guest's next driver.
        front.reconnect();
        rig.verifiedWriteRead(front, 0, 1024, 16384);
    }

    // ---- the frontend vanishes -------------------------------------------------------------------

    static Stream<Arguments> vanishings() {
        return Stream.of("state node removed", "frontend directory removed", "domain destroyed")
                .flatMap(kind -> Stream.of(true, false).flatMap(reads -> Stream.of(true, false)
                        .map(holdPastDrain -> Arguments.of(kind, reads ? "reads" : "writes", holdPastDrain
                                ? "held past the drain time" : "slow (300 ms)"))));
    }

    /**
     * The guest's frontend vanishes while its I/O is in the device: its state node or its whole
     * directory is removed, or the domain is destroyed (memory and grant table gone). No crash,
     * Closed with nothing mapped, and with I/O held past the drain time: no grant touched and no
     * guest memory written when the device answers. Afterwards blkifd serves the disk again.
     */
    @ParameterizedTest(name = "{0}, {1} {2}")
    @MethodSource("vanishings")
    void theFrontendVanishesWithRequestsInFlight(String kind, String op, String device) throws Exception {
        rig = BlkifdRig.start(root.resolve("rig"), BlkifdRig.config());
        SimBlkfront front = rig.connect(PERSISTENT);
        boolean reads = op.equals("reads");
        boolean holdPastDrain = device.startsWith("held");
        Held held;
        if (holdPastDrain) {
            held = holdInFlight(front, reads);
        } else {
            rig.verifiedWriteRead(front, 0, 8, 4096);
            if (reads) {
                rig.device.readDelay(300);
            } else {
                rig.device.writeDelay(300);
            }
            List<CompletableFuture<Response>> requests = new ArrayList<>();
            for (int i = 0; i < IN_FLIGHT; i++) {
                requests.add(reads ? front.read(64L * i, 8192) : front.write(64L * i, rig.randomBytes(8192)));
            }
            held = new Held(requests, null);
        }
        int closedBefore = rig.closedWrites().size();
        if (holdPastDrain) {
            rig.grants.fence();
        }
        switch (kind) {
            case "state node removed" -> rig.guest.domain().xenstore().rm(front.frontendPath() + "/state");
            case "frontend directory removed" -> rig.guest.domain().xenstore().rm(front.frontendPath());
            default -> rig.host.destroyDomain(BlkifdRig.GUEST);
        }
        rig.backend.finished().get(30, TimeUnit.SECONDS);
        assertClosedWithNothingMapped(closedBefore);
        if (holdPastDrain) {
            releaseAndAwaitAnswers();
            assertGuestUntouched(held);
            rig.grants.unfence();
        } else {
            // Their answers are dropped (no responses on a ring whose frontend left, blkif.md §5.7):
            // the frontend fails them when it is closed.
            rig.device.readDelay(0);
            rig.device.writeDelay(0);
        }
        rig.assertContained();
        // (removed from the map by a completion callback that may run just after finished() returned)
        awaitTrue(() -> rig.blkifd.disks().isEmpty(), "the torn-down disk leaves blkifd's list");
        if (kind.equals("domain destroyed")) {
            return; // nothing to serve: the guest is gone
        }
        // blkifd still works: the toolstack plugs the disk again for the guest.
        rig.xenopsd.removeTrees(rig.vbd);
        front.close();
        rig.plug();
        SimBlkfront again = rig.connect(PERSISTENT);
        rig.verifiedWriteRead(again, 0, 1024, 16384);
    }

    // ---- one ring broken while the others have I/O in the device --------------------------------

    /**
     * Four queues with I/O held in the device on three of them; the fourth's producer index jumps
     * more than a ring ahead. All four rings and every persistent grant are unmapped before the
     * backend says Closed, the held I/O touches nothing when it is answered, and a reset frontend
     * gets four working queues.
     */
    @Test
    void aBogusIndexOnOneQueueWhileTheOthersHaveIoInTheDevice() throws Exception {
        rig = BlkifdRig.start(root.resolve("rig"), BlkifdRig.config());
        FrontOptions four = FrontOptions.defaults().withRingOrder(0).withQueues(4).withPersistentGrants(true);
        SimBlkfront front = rig.connect(four);
        HostileFront h = front.hostile();
        for (int q = 0; q < 4; q++) {
            rig.verifiedWriteRead(front, q, 64L * (q + 1), 8192);
        }
        rig.device.hold();
        long started = rig.device.reads.get();
        List<CompletableFuture<Response>> held = new ArrayList<>();
        for (int q : new int[] {0, 1, 3}) {
            for (int i = 0; i < 3; i++) {
                held.add(front.submit(q, Operation.READ, 512L * q + 16L * i, new byte[8192]));
            }
        }
        awaitTrue(() -> rig.device.reads.get() - started == 9, "the device has the 9 reads");
        int closedBefore = rig.closedWrites().size();
        h.setReqProd(2, h.reqProd(2) + front.ringEntries() + 5);
        rig.awaitBackendState(s -> s != XenbusState.CONNECTED, "not Connected");
        // The reads answered after this point must not land: the backend gave up the guest's pages.
        front.disconnection().get(30, TimeUnit.SECONDS);
        rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        assertClosedWithNothingMapped(closedBefore);
        rig.grants.fence();
        long answered = rig.device.heldAnswered.get();
        rig.device.release();
        awaitTrue(() -> rig.device.heldAnswered.get() - answered >= 9, "the device answered the held reads");
        assertThat(rig.grants.touchedAfterFence()).as("grant operations after Closed").isEmpty();
        rig.grants.unfence();
        assertThat(held).allMatch(CompletableFuture::isCompletedExceptionally);
        front.reconnect();
        for (int q = 0; q < 4; q++) {
            rig.verifiedWriteRead(front, q, 2048L + 64L * q, 8192);
        }
    }
}
