package org.spdksr.datapath.blkifd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.FrontRequest;
import org.spdksr.datapath.sim.blkfront.GrantedPage;
import org.spdksr.datapath.sim.blkfront.HostileFront;
import org.spdksr.datapath.sim.blkfront.Operation;
import org.spdksr.datapath.sim.blkfront.Response;
import org.spdksr.datapath.sim.blkfront.SegmentDescriptor;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;
import org.spdksr.datapath.sim.blkfront.XenbusState;

/**
 * The hostile-guest suite of issue 4: malformed and hostile inputs from a simulated frontend
 * against the real blkifd on a file device. For every request-level attack: an error response
 * with the id and the operation byte echoed, not one byte of the volume changed, nothing written
 * outside the volume (file size and sentinel files), and afterwards a verified write and read on
 * the same ring. Attacks that must shut the ring down (a producer index more than a ring ahead)
 * check that the backend left Connected, wrote {@code error}, and accepts a reconnection. After
 * every test the frontend disconnects and no grant mapping may be left.
 */
@Timeout(120)
class HostileGuestTest {
    private static final short OK = Response.OKAY;
    private static final short ERROR = Response.ERROR;
    private static final short EOPNOTSUPP = Response.EOPNOTSUPP;
    private static final FrontOptions RING = FrontOptions.defaults().withRingOrder(2).withPersistentGrants(false);

    /** One rig for the class (a rig costs about a second to stop); a test needing another config makes its own. */
    @TempDir
    static Path sharedRoot;
    private static BlkifdRig shared;
    private static int sharedRigs;

    @TempDir
    Path root;
    private int rigs;
    private BlkifdRig rig;
    private SimBlkfront front;
    private HostileFront h;
    private final List<GrantedPage> pages = new ArrayList<>();
    private boolean violationsExpected;

    @BeforeEach
    void setUp() throws Exception {
        if (shared != null && shared.backend.finished().isDone()) {
            shared.close();
            shared = null;
        }
        if (shared == null) {
            shared = BlkifdRig.start(sharedRoot.resolve("shared" + sharedRigs++), BlkifdRig.config());
        }
        rig = shared;
        // A new guest driver on the shared disk: Initialising, then the whole handshake.
        front = rig.front(RING);
        front.reconnect();
        h = front.hostile();
    }

    @AfterAll
    static void closeShared() throws Exception {
        if (shared != null) {
            shared.close();
            shared = null;
        }
    }

    /** Replaces the shared rig, for this test only, by one built from {@code config}. */
    private void useRig(BlkifdRig.Config config) throws Exception {
        finish();
        rig = BlkifdRig.start(root.resolve("rig" + rigs++), config);
        front = rig.connect(RING);
        h = front.hostile();
    }

    @AfterEach
    void tearDown() throws Exception {
        finish();
    }

    /** Disconnects; no mapping may be left and nothing outside the volume may have changed. */
    private void finish() throws Exception {
        boolean clean = false;
        try {
            if (!violationsExpected && front != null) {
                assertThat(front.protocolViolations()).as("what the frontend saw the backend do wrong").isEmpty();
            }
            if (front != null && front.connected()) {
                front.disconnect(BlkifdRig.WAIT);
            }
            if (!rig.backend.finished().isDone()) {
                rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
            }
            rig.assertNoLiveMappings();
            rig.assertContained();
            clean = true;
        } finally {
            pages.clear();
            front = null;
            if (rig != shared) {
                rig.close();
            } else if (!clean) {
                shared.close(); // do not let a broken rig fail the next tests
                shared = null;
            }
            rig = null;
        }
    }

    // ---- helpers -------------------------------------------------------------------------------

    private GrantedPage page(byte[] contents, boolean readOnly) {
        GrantedPage p = h.grantToBackend(contents, readOnly);
        pages.add(p);
        return p;
    }

    /** A read-write page full of random bytes: whatever a wrongly accepted write puts on disk shows. */
    private GrantedPage dataPage() {
        return page(rig.randomBytes(4096), false);
    }

    private static SegmentDescriptor seg(GrantedPage p, int first, int last) {
        return SegmentDescriptor.of(p.gref(), first, last);
    }

    private FrontRequest.ReadWrite rw(int op, long sector, List<SegmentDescriptor> segs) {
        return new FrontRequest.ReadWrite(op, h.newId(0), sector, segs);
    }

    private FrontRequest.ReadWrite rw(int op, long sector, SegmentDescriptor... segs) {
        return rw(op, sector, List.of(segs));
    }

    private FrontRequest.Indirect indirect(int indirectOp, long sector, int nr, List<Integer> grefs) {
        return new FrontRequest.Indirect(indirectOp, h.newId(0), sector, nr, grefs);
    }

    /** Publishes on queue 0 and waits for the answer; the id and the operation byte must be echoed. */
    private Response send(FrontRequest request) throws Exception {
        HostileFront.Published p = h.publish(0, request);
        Response r = p.response().get(BlkifdRig.WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(r.id()).as("echoed id").isEqualTo(p.id());
        assertThat(r.operation()).as("echoed operation byte").isEqualTo(request.responseOperation());
        return r;
    }

    /** The request is answered with one of {@code allowed} and changes no byte of the volume. */
    private Response rejected(FrontRequest request, short... allowed) throws Exception {
        byte[] before = rig.volumeBytes();
        Response r = send(request);
        Short[] boxed = new Short[allowed.length];
        for (int i = 0; i < allowed.length; i++) {
            boxed[i] = allowed[i];
        }
        assertThat(r.status()).as("status of a hostile request " + request).isIn((Object[]) boxed);
        BlkifdRig.assertSameBytes(rig.volumeBytes(), before, "volume after a rejected request");
        rig.assertContained();
        return r;
    }

    /** The backend keeps serving: a verified write and read on the same ring. */
    private void stillServes() throws Exception {
        rig.verifiedWriteRead(front, 0, 8 * (1 + rig.random.nextInt(900)), 3 * 4096);
        rig.assertContained();
    }

    private void rejectedThenServes(FrontRequest request, short... allowed) throws Exception {
        rejected(request, allowed);
        stillServes();
    }

    // ---- operations ----------------------------------------------------------------------------

    @ParameterizedTest(name = "operation {0}")
    @ValueSource(ints = {7, 8, 9, 42, 127, 128, 200, 255})
    void unknownOperationsAreNotSupported(int op) throws Exception {
        rejectedThenServes(rw(op, 0, seg(dataPage(), 0, 7)), EOPNOTSUPP);
    }

    @Test
    void reservedOperation4IsNotSupported() throws Exception {
        rejectedThenServes(rw(4, 0, seg(dataPage(), 0, 7)), EOPNOTSUPP);
    }

    @ParameterizedTest(name = "operation {0}")
    @ValueSource(ints = {0, 1})
    void readOrWriteWithoutSegments(int op) throws Exception {
        rejectedThenServes(rw(op, 0), ERROR);
    }

    static Stream<Arguments> tooManySegments() {
        return Stream.of(0, 1, 2, 3).flatMap(op -> Stream.of(12, 13, 64, 255).map(n -> Arguments.of(op, n)));
    }

    @ParameterizedTest(name = "operation {0}, {1} segments")
    @MethodSource("tooManySegments")
    void directRequestWithMoreThan11Segments(int op, int n) throws Exception {
        GrantedPage p = dataPage();
        List<SegmentDescriptor> segs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            segs.add(seg(p, 0, 7));
        }
        rejectedThenServes(rw(op, 0, segs), ERROR);
    }

    @ParameterizedTest(name = "operation {0}")
    @ValueSource(ints = {0, 1, 3})
    void firstSectorAfterLastSector(int op) throws Exception {
        rejectedThenServes(rw(op, 0, seg(dataPage(), 5, 4)), ERROR);
    }

    @ParameterizedTest(name = "last_sect {0}")
    @ValueSource(ints = {8, 9, 15, 64, 255})
    void lastSectorPastThePage(int last) throws Exception {
        rejectedThenServes(rw(1, 0, seg(dataPage(), 0, last)), ERROR);
        rejectedThenServes(rw(0, 0, seg(dataPage(), 7, last)), ERROR);
    }

    @Test
    void aBadSegmentAfterGoodOnesFailsTheWholeWrite() throws Exception {
        GrantedPage p = dataPage();
        rejectedThenServes(rw(1, 64, seg(p, 0, 7), seg(p, 0, 7), seg(p, 3, 11)), ERROR);
        rejectedThenServes(rw(1, 64, seg(p, 0, 7), seg(p, 0, 7), SegmentDescriptor.of(h.unusedGrantRef(), 0, 7)),
                ERROR);
    }

    // ---- bounds --------------------------------------------------------------------------------

    @ParameterizedTest(name = "operation {0}")
    @ValueSource(ints = {0, 1, 2, 3})
    void requestEndingPastTheEnd(int op) throws Exception {
        GrantedPage p = dataPage();
        long end = rig.volumeSectors();
        rejected(rw(op, end - 4, seg(p, 0, 7)), ERROR); // starts inside, ends 4 sectors past
        rejected(rw(op, end - 1, seg(p, 0, 1)), ERROR);
        rejected(rw(op, end, seg(p, 7, 7)), ERROR); // starts at the end
        rejected(rw(op, 1L << 40, seg(p, 0, 7)), ERROR);
        stillServes();
    }

    @Test
    void theLastSectorItselfIsFine() throws Exception {
        GrantedPage p = dataPage();
        byte[] contents = h.pageContents(p);
        assertThat(send(rw(1, rig.volumeSectors() - 1, seg(p, 7, 7))).status()).isEqualTo(OK);
        BlkifdRig.assertSameBytes(rig.fileRange(rig.volumeSectors() - 1, 512),
                Arrays.copyOfRange(contents, 7 * 512, 4096), "last sector");
        rig.assertContained();
    }

    @ParameterizedTest(name = "sector {0}")
    @ValueSource(longs = {-8L, -16L, -1L, Long.MIN_VALUE, Long.MAX_VALUE, Long.MAX_VALUE - 7})
    void sectorPlusLengthWrappingU64(long sector) throws Exception {
        GrantedPage p = dataPage();
        rejected(rw(1, sector, seg(p, 0, 7), seg(p, 0, 7)), ERROR);
        rejected(rw(0, sector, seg(p, 0, 7), seg(p, 0, 7)), ERROR);
        stillServes();
    }

    @ParameterizedTest(name = "discard {0}+{1}")
    @MethodSource("badDiscards")
    void discardOutsideTheVolume(long sector, long count) throws Exception {
        rejectedThenServes(new FrontRequest.Discard(h.newId(0), sector, count, false), ERROR);
    }

    static Stream<Arguments> badDiscards() {
        long end = BlkifdRig.config().volumeSectors();
        return Stream.of(
                Arguments.of(0L, -1L), // huge: u64 max
                Arguments.of(0L, Long.MIN_VALUE), // 2^63
                Arguments.of(0L, end + 1),
                Arguments.of(end - 8, 16L), // past the end
                Arguments.of(end, 8L),
                Arguments.of(8L, -8L), // wraps to 0
                Arguments.of(-8L, 16L)); // wraps to 8
    }

    @Test
    void discardInsideTheVolumeWorks() throws Exception {
        assertThat(send(new FrontRequest.Discard(h.newId(0), 0, 8, false)).status()).isEqualTo(OK);
        assertThat(rig.fileRange(0, 4096)).containsOnly(0);
        stillServes();
    }

    /**
     * discard-enable=0 makes the backend write feature-discard=0; a discard sent anyway must get
     * EOPNOTSUPP and leave the volume alone (it once punched a hole: the checks did not follow the
     * advertised features).
     */
    @Test
    void discardWhenNotAdvertisedIsRefused() throws Exception {
        useRig(BlkifdRig.config().withBackendKey("discard-enable", "0"));
        assertThat(front.backendInfo().discard()).as("feature-discard").isFalse();
        rejectedThenServes(new FrontRequest.Discard(h.newId(0), 0, 64, false), EOPNOTSUPP);
    }

    @Test
    void theSecureFlagOfADiscardIsIgnoredWhenNotAdvertised() throws Exception {
        assertThat(front.backendInfo().discardSecure()).isFalse();
        assertThat(send(new FrontRequest.Discard(h.newId(0), 64, 8, true)).status()).isEqualTo(OK);
        assertThat(rig.fileRange(64, 4096)).containsOnly(0);
        stillServes();
    }

    static Stream<Arguments> x86_32Attacks() {
        return Stream.of(Arguments.of("unknown operation 77", 77, 0L, 0, 7, EOPNOTSUPP),
                Arguments.of("reserved operation 4", 4, 0L, 0, 7, EOPNOTSUPP),
                Arguments.of("last_sect 8", 1, 0L, 0, 8, ERROR),
                Arguments.of("past the end", 1, BlkifdRig.config().volumeSectors() - 2, 0, 7, ERROR),
                Arguments.of("wrapping", 0, -4L, 0, 7, ERROR));
    }

    /** The same checks with the x86_32 layout (id at offset 4, sector at 12): the id is still echoed. */
    @ParameterizedTest(name = "x86_32: {0}")
    @MethodSource("x86_32Attacks")
    void attacksWithTheX86_32Layout(String name, int op, long sector, int first, int last, short status)
            throws Exception {
        front.disconnect(BlkifdRig.WAIT);
        rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        front = rig.front(RING.withAbi(org.spdksr.datapath.blkif.Abi.X86_32).withProtocolKey(false));
        front.reconnect();
        h = front.hostile();
        long id = h.newId(0) | 0x1234_5678_0000_0000L; // high bits too: all 8 bytes must be echoed
        FrontRequest.ReadWrite r = new FrontRequest.ReadWrite(op, id, sector, List.of(seg(dataPage(), first, last)));
        Response resp = rejected(r, status);
        assertThat(resp.id()).isEqualTo(id);
        stillServes();
    }

    // ---- read-only disk ------------------------------------------------------------------------

    static Stream<Arguments> writesToAReadOnlyDisk() {
        return Stream.of(
                Arguments.of("write", 1, false),
                Arguments.of("flush with data", 3, false),
                Arguments.of("barrier with data", 2, false),
                Arguments.of("indirect write", 6, false),
                Arguments.of("discard", 5, true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("writesToAReadOnlyDisk")
    void aReadOnlyDiskRefusesEveryWrite(String name, int op, boolean discard) throws Exception {
        useRig(BlkifdRig.config().withReadOnly(true));
        assertThat(front.backendInfo().readOnly()).isTrue();
        assertThat(front.backendInfo().discard()).as("feature-discard on a read-only disk").isFalse();
        GrantedPage p = dataPage();
        FrontRequest request;
        if (discard) {
            request = new FrontRequest.Discard(h.newId(0), 0, 64, false);
        } else if (op == 6) {
            GrantedPage d = page(new byte[0], true);
            org.spdksr.datapath.sim.blkfront.RequestEncoder.encodeDescriptors(List.of(seg(p, 0, 7), seg(p, 0, 7)),
                    rig.guest.pages().page(d.frame()), 0);
            request = indirect(1, 0, 2, List.of(d.gref()));
        } else {
            request = rw(op, 0, seg(p, 0, 7));
        }
        // Not advertised on a read-only disk: EOPNOTSUPP for a discard is what §1.7 asks, ERROR is tolerated.
        rejected(request, discard ? new short[] {EOPNOTSUPP, ERROR} : new short[] {ERROR});
        // Still serving: reads and empty flushes work on the same ring.
        Response r = front.read(128, 8192).get(30, TimeUnit.SECONDS);
        assertThat(r.status()).isEqualTo(OK);
        BlkifdRig.assertSameBytes(r.data(), rig.fileRange(128, 8192), "read from a read-only disk");
        assertThat(front.flush().get(30, TimeUnit.SECONDS).status()).isEqualTo(OK);
    }

    // ---- indirect requests ---------------------------------------------------------------------

    private GrantedPage descriptors(List<SegmentDescriptor> segs) {
        GrantedPage d = h.indirectPage(segs);
        pages.add(d);
        return d;
    }

    private List<SegmentDescriptor> good(int n) {
        GrantedPage p = dataPage();
        List<SegmentDescriptor> segs = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            segs.add(seg(p, 0, 7));
        }
        return segs;
    }

    @ParameterizedTest(name = "indirect_op {0}")
    @ValueSource(ints = {2, 3, 4, 5, 6, 9, 255})
    void indirectWithAnOperationOtherThanReadOrWrite(int indirectOp) throws Exception {
        GrantedPage d = descriptors(good(4));
        rejectedThenServes(indirect(indirectOp, 0, 4, List.of(d.gref())), ERROR, EOPNOTSUPP);
    }

    @ParameterizedTest(name = "{0} segments")
    @ValueSource(ints = {0, 257, 512, 4096, 65535})
    void indirectSegmentCountOutsideWhatWasAdvertised(int nr) throws Exception {
        GrantedPage d = descriptors(good(16));
        List<Integer> grefs = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            grefs.add(d.gref());
        }
        rejectedThenServes(indirect(1, 0, nr, grefs), ERROR);
        rejectedThenServes(indirect(0, 0, nr, grefs), ERROR);
    }

    static Stream<Arguments> badDescriptors() {
        return Stream.of(Arguments.of("last_sect 8", 0, 8), Arguments.of("last_sect 255", 0, 255),
                Arguments.of("first after last", 6, 2), Arguments.of("first 8 last 8", 8, 8));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badDescriptors")
    void indirectDescriptorPageWithABadSegment(String name, int first, int last) throws Exception {
        List<SegmentDescriptor> segs = new ArrayList<>(good(20));
        segs.set(17, seg(dataPage(), first, last));
        GrantedPage d = descriptors(segs);
        rejectedThenServes(indirect(1, 0, 20, List.of(d.gref())), ERROR);
        rejectedThenServes(indirect(0, 0, 20, List.of(d.gref())), ERROR);
    }

    @Test
    void indirectDescriptorNamingBadDataGrants() throws Exception {
        List<SegmentDescriptor> segs = new ArrayList<>(good(16));
        segs.set(3, SegmentDescriptor.of(h.unusedGrantRef(), 0, 7));
        rejectedThenServes(indirect(1, 0, 16, List.of(descriptors(segs).gref())), ERROR);
        segs.set(3, SegmentDescriptor.of(h.outOfTableGrantRef(), 0, 7));
        rejectedThenServes(indirect(0, 0, 16, List.of(descriptors(segs).gref())), ERROR);
        GrantedPage elsewhere = h.grantPage(rig.randomBytes(4096), 99, false);
        pages.add(elsewhere);
        segs.set(3, seg(elsewhere, 0, 7));
        rejectedThenServes(indirect(1, 0, 16, List.of(descriptors(segs).gref())), ERROR);
    }

    @Test
    void indirectDescriptorsUsedOnlyUpToNrSegments() throws Exception {
        // Garbage after the 4 announced descriptors must be ignored, not validated or used.
        List<SegmentDescriptor> segs = new ArrayList<>(good(4));
        segs.add(SegmentDescriptor.of(h.outOfTableGrantRef(), 9, 3));
        GrantedPage d = descriptors(segs);
        assertThat(send(indirect(1, 256, 4, List.of(d.gref()))).status()).isEqualTo(OK);
        stillServes();
    }

    static Stream<Arguments> badIndirectPageGrants() {
        return Stream.of(Arguments.of("unused"), Arguments.of("out of table"), Arguments.of("another domain's"),
                Arguments.of("revoked"), Arguments.of("second page unused"));
    }

    @ParameterizedTest(name = "{0} descriptor page")
    @MethodSource("badIndirectPageGrants")
    void indirectDescriptorPageGrantRefused(String kind) throws Exception {
        List<SegmentDescriptor> segs = good(8);
        int nr = 8;
        List<Integer> grefs;
        switch (kind) {
            case "unused" -> grefs = List.of(h.unusedGrantRef());
            case "out of table" -> grefs = List.of(h.outOfTableGrantRef());
            case "another domain's" -> {
                GrantedPage other = h.grantPage(new byte[0], 99, true);
                pages.add(other);
                org.spdksr.datapath.sim.blkfront.RequestEncoder.encodeDescriptors(segs,
                        rig.guest.pages().page(other.frame()), 0);
                grefs = List.of(other.gref());
            }
            case "revoked" -> {
                GrantedPage d = descriptors(segs);
                h.revoke(d.gref());
                grefs = List.of(d.gref());
            }
            default -> {
                // 600 segments need two descriptor pages (only allowed if advertised; 256 is): the
                // count is refused first, so use the second slot with a count that needs one page.
                GrantedPage d = descriptors(segs);
                grefs = List.of(d.gref(), h.unusedGrantRef());
                nr = 8;
            }
        }
        if (kind.equals("second page unused")) {
            // One page is enough for 8 segments: the second gref must not even be looked at.
            assertThat(send(indirect(1, 512, nr, grefs)).status()).isEqualTo(OK);
            stillServes();
            return;
        }
        rejectedThenServes(indirect(1, 0, nr, grefs), ERROR);
        rejectedThenServes(indirect(0, 0, nr, grefs), ERROR);
    }

    // ---- data grants ---------------------------------------------------------------------------

    static Stream<Arguments> badDataGrants() {
        return Stream.of("unused", "out of table", "another domain's", "revoked")
                .flatMap(k -> Stream.of(Arguments.of(k, 0), Arguments.of(k, 1), Arguments.of(k, 3)));
    }

    @ParameterizedTest(name = "{0} grant, operation {1}")
    @MethodSource("badDataGrants")
    void dataGrantRefused(String kind, int op) throws Exception {
        int gref = switch (kind) {
            case "unused" -> h.unusedGrantRef();
            case "out of table" -> h.outOfTableGrantRef();
            case "another domain's" -> {
                GrantedPage other = h.grantPage(rig.randomBytes(4096), 99, false);
                pages.add(other);
                yield other.gref();
            }
            default -> {
                GrantedPage p = dataPage();
                h.revoke(p.gref());
                yield p.gref();
            }
        };
        rejectedThenServes(rw(op, 0, SegmentDescriptor.of(gref, 0, 7)), ERROR);
    }

    @Test
    void dataGrantRevokedWhileTheReadIsInFlight() throws Exception {
        byte[] mark = new byte[4096];
        Arrays.fill(mark, (byte) 0x5a);
        GrantedPage p = page(mark, false);
        rig.device.readDelay(400);
        HostileFront.Published pub = h.publish(0, rw(0, 0, seg(p, 0, 7)));
        h.revoke(p.gref()); // the backend is still reading the disk
        Response r = pub.response().get(30, TimeUnit.SECONDS);
        rig.device.readDelay(0);
        assertThat(r.id()).isEqualTo(pub.id());
        assertThat(r.operation()).isZero();
        assertThat(r.status()).isEqualTo(ERROR);
        assertThat(h.pageContents(p)).as("the revoked page is not written").isEqualTo(mark);
        stillServes();
    }

    @Test
    void dataGrantRevokedWhileTheWriteIsInFlight() throws Exception {
        // The data is copied out once when the request is taken; a revoke after that cannot change
        // what is written. Either answer is legal, but the bytes must be the page's.
        byte[] data = rig.randomBytes(4096);
        GrantedPage p = page(data, true);
        rig.device.writeDelay(300);
        byte[] before = rig.volumeBytes();
        HostileFront.Published pub = h.publish(0, rw(1, 40, seg(p, 0, 7)));
        h.revoke(p.gref());
        Response r = pub.response().get(30, TimeUnit.SECONDS);
        rig.device.writeDelay(0);
        assertThat(r.operation()).isEqualTo(1);
        assertThat(r.status()).isIn(OK, ERROR);
        if (r.status() == OK) {
            System.arraycopy(data, 0, before, 40 * 512, 4096);
        }
        BlkifdRig.assertSameBytes(rig.volumeBytes(), before, "volume after a write whose grant was revoked");
        stillServes();
    }

    @Test
    void readIntoAReadOnlyGrantLeavesThePageAlone() throws Exception {
        byte[] mark = new byte[4096];
        Arrays.fill(mark, (byte) 0x77);
        GrantedPage ro = page(mark, true);
        rejected(rw(0, 0, seg(ro, 0, 7)), ERROR);
        assertThat(h.pageContents(ro)).isEqualTo(mark);
        // Indirect too, and a read whose second page only is read-only.
        GrantedPage rwPage = page(mark, false);
        rejected(rw(0, 0, seg(rwPage, 0, 7), seg(ro, 0, 7)), ERROR);
        assertThat(h.pageContents(ro)).isEqualTo(mark);
        rejected(indirect(0, 0, 2, List.of(descriptors(List.of(seg(ro, 0, 7), seg(ro, 0, 7))).gref())), ERROR);
        assertThat(h.pageContents(ro)).isEqualTo(mark);
        stillServes();
    }

    // ---- the double fetch ----------------------------------------------------------------------

    /**
     * A slot rewritten after publishing (XSA-155). Only the sector and the first segment's
     * last_sect are rewritten (bytes 16..31 of an x86_64 slot), never bytes 0..15 where the
     * response goes. Of the variants, only (sector 16, last_sect 7) is valid; any other value or
     * torn mix the backend may copy is outside the volume or past the page. So: every answer is
     * OKAY or ERROR, the device saw exactly as many writes as there were OKAYs (a request checked
     * on one copy and executed from another would break that), and the volume differs from before
     * only in sectors 16..23, which hold the page.
     */
    @Test
    void aSlotRewrittenAfterPublishingIsDecodedFromOneSnapshot() throws Exception {
        byte[] data = rig.randomBytes(4096);
        GrantedPage p = page(data, true);
        byte[] before = rig.volumeBytes();
        int ringRef = Integer.parseInt(front.guest().domain().xenstore()
                .readString(front.frontendPath() + "/ring-ref0").trim());
        int ringFrame = rig.domain.grantTable().entry(ringRef).frame();
        ByteBuffer ring = rig.guest.pages().map(ringFrame, 1 << front.ringOrder()).order(ByteOrder.LITTLE_ENDIAN);
        int entries = h.ringEntries();
        long bad = 0xFFFF_FFFF_FFFF_FF10L;
        AtomicInteger current = new AtomicInteger(-1);
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicLong rewrites = new AtomicLong();
        Thread rewriter = new Thread(() -> {
            long n = 0;
            while (running.get()) {
                int idx = current.get();
                if (idx < 0) {
                    Thread.onSpinWait();
                    continue;
                }
                int at = 64 + (idx & (entries - 1)) * 112;
                switch ((int) (n++ % 4)) {
                    case 0 -> ring.putLong(at + 16, bad);
                    case 1 -> ring.putLong(at + 16, 16);
                    case 2 -> ring.put(at + 24 + 5, (byte) 200);
                    default -> ring.put(at + 24 + 5, (byte) 7);
                }
                rewrites.incrementAndGet();
            }
        }, "double-fetch rewriter");
        rewriter.setDaemon(true);
        long writesBefore = rig.device.writes.get();
        int oks = 0;
        int errors = 0;
        rewriter.start();
        try {
            for (int i = 0; i < 300; i++) {
                HostileFront.Published pub = h.publish(0, rw(1, 16, seg(p, 0, 7)));
                current.set(pub.index());
                Response r = pub.response().get(30, TimeUnit.SECONDS);
                current.set(-1);
                assertThat(r.id()).isEqualTo(pub.id());
                assertThat(r.operation()).isEqualTo(1);
                assertThat(r.status()).isIn(OK, ERROR);
                if (r.ok()) {
                    oks++;
                } else {
                    errors++;
                }
            }
        } finally {
            running.set(false);
            rewriter.join(5000);
        }
        System.out.printf("double fetch: %d OKAY, %d ERROR, %d rewrites%n", oks, errors, rewrites.get());
        assertThat(rig.device.writes.get() - writesBefore).as("device writes vs OKAY answers (%d errors, %d rewrites)",
                errors, rewrites.get()).isEqualTo(oks);
        if (oks > 0) {
            System.arraycopy(data, 0, before, 16 * 512, 4096);
        }
        BlkifdRig.assertSameBytes(rig.volumeBytes(), before, "volume after the double-fetch attack");
        rig.assertContained();
        stillServes();
    }

    // ---- ring indices --------------------------------------------------------------------------

    /** After the ring was shut down: left Connected, said why, and a reset frontend connects again. */
    private void assertShutDownThenReconnect() throws Exception {
        violationsExpected = true;
        rig.awaitBackendState(s -> s != XenbusState.CONNECTED, "not Connected");
        assertThat(rig.backendKey("error")).as("the backend's error key").isPresent();
        front.disconnection().get(30, TimeUnit.SECONDS); // the frontend follows the backend's Closing
        rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        rig.assertNoLiveMappings();
        rig.assertContained();
        front.reconnect();
        h = front.hostile();
        assertThat(rig.backendState()).isEqualTo(XenbusState.CONNECTED);
        stillServes();
    }

    @Test
    void aProducerIndexMoreThanARingAheadShutsTheRingDown() throws Exception {
        stillServes();
        h.setReqProd(0, h.reqProd(0) + h.ringEntries() + 5);
        assertShutDownThenReconnect();
    }

    @Test
    void aProducerIndexFarAheadShutsTheRingDown() throws Exception {
        h.setReqProd(0, h.reqProd(0) + 0x4000_0000);
        assertShutDownThenReconnect();
    }

    @Test
    void aProducerIndexMovingBackwardsShutsTheRingDown() throws Exception {
        stillServes();
        stillServes();
        // Behind rsp_prod: in u32 arithmetic that is almost 2^32 requests ahead (§1.8 rule 2).
        h.setReqProd(0, h.reqProd(0) - 3);
        assertShutDownThenReconnect();
    }

    @Test
    void aProducerIndexMovingBackwardsWhileRequestsAreInFlight() throws Exception {
        violationsExpected = true;
        rig.device.readDelay(300);
        List<CompletableFuture<Response>> inFlight = new ArrayList<>();
        long readsBefore = rig.device.reads.get();
        for (int i = 0; i < 6; i++) {
            inFlight.add(front.read(8L * i, 4096));
        }
        // Wait until the backend took all six (their reads reached the device), then move back.
        while (rig.device.reads.get() - readsBefore < 6) {
            Thread.sleep(1);
        }
        h.setReqProd(0, h.reqProd(0) - 3);
        rig.device.readDelay(0);
        // The backend may answer stale slots up to its ring guard; the rule that matters is what
        // follows: a producer behind the responses is bogus, the ring goes down, no I/O escapes.
        assertShutDownThenReconnect();
        for (CompletableFuture<Response> f : inFlight) {
            assertThat(f).isDone();
        }
    }

    /**
     * A guest that never notifies: it keeps pushing {@code req_event} far ahead, so its own
     * pushes never ask for an event, while it floods the ring. The backend finds the requests by
     * its final check (and its tail check after responses) alone.
     */
    @Test
    void aFloodOfRequestsWithoutNotifications() throws Exception {
        int ringRef = Integer.parseInt(front.guest().domain().xenstore()
                .readString(front.frontendPath() + "/ring-ref0").trim());
        ByteBuffer header = rig.guest.pages().page(rig.domain.grantTable().entry(ringRef).frame())
                .order(ByteOrder.LITTLE_ENDIAN);
        AtomicBoolean running = new AtomicBoolean(true);
        Thread suppressor = new Thread(() -> {
            while (running.get()) {
                header.putInt(4, header.getInt(0) + 0x4000_0000); // req_event far beyond req_prod
                Thread.onSpinWait();
            }
        }, "notification suppressor");
        suppressor.setDaemon(true);
        suppressor.start();
        int n = 400;
        byte[][] data = new byte[n][];
        List<CompletableFuture<Response>> writes = new ArrayList<>();
        try {
            for (int i = 0; i < n; i++) {
                data[i] = rig.randomBytes(4096);
                writes.add(front.submit(0, Operation.WRITE, 8L * i, data[i]));
            }
            for (CompletableFuture<Response> f : writes) {
                assertThat(f.get(60, TimeUnit.SECONDS).status()).isEqualTo(OK);
            }
            List<CompletableFuture<Response>> reads = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                reads.add(front.submit(0, Operation.READ, 8L * i, new byte[4096]));
            }
            for (int i = 0; i < n; i++) {
                Response r = reads.get(i).get(60, TimeUnit.SECONDS);
                assertThat(r.status()).isEqualTo(OK);
                BlkifdRig.assertSameBytes(r.data(), data[i], "read " + i);
                BlkifdRig.assertSameBytes(rig.fileRange(8L * i, 4096), data[i], "file " + i);
            }
        } finally {
            running.set(false);
            suppressor.join(5000);
        }
        stillServes();
    }

    // ---- hostile handshakes ----------------------------------------------------------------------

    static Stream<Arguments> garbageFrontendKeys() {
        return Stream.of(
                Arguments.of("ring-page-order", "abc"),
                Arguments.of("ring-page-order", "-1"),
                Arguments.of("ring-page-order", "5"),
                Arguments.of("ring-page-order", "4294967296"),
                Arguments.of("ring-page-order", "3"), // no ring-ref0..7 written
                Arguments.of("num-ring-pages", "3"),
                Arguments.of("event-channel", "xyz"),
                Arguments.of("event-channel", null), // missing
                Arguments.of("event-channel", "31337"), // not a port of this guest
                Arguments.of("ring-ref", "garbage"),
                Arguments.of("ring-ref", ""),
                Arguments.of("ring-ref", "16000"), // an unused grant
                Arguments.of("ring-ref", "99999999"), // outside the grant table
                Arguments.of("ring-ref", null),
                Arguments.of("multi-queue-num-queues", "5"), // above multi-queue-max-queues 4
                Arguments.of("multi-queue-num-queues", "0"),
                Arguments.of("multi-queue-num-queues", "many"),
                Arguments.of("protocol", "arm-abi"),
                Arguments.of("protocol", "x86_64-abi\u0000junk"),
                Arguments.of("protocol", ""));
    }

    /**
     * A frontend whose connect keys are garbage: the backend must refuse the connection (error,
     * Closing), keep nothing mapped, and accept the same guest once it resets and writes sane keys.
     */
    @ParameterizedTest(name = "{0}={1}")
    @MethodSource("garbageFrontendKeys")
    void garbageFrontendKeysRefuseTheConnection(String key, String value) throws Exception {
        refusedThenRecovers(FrontOptions.defaults().withRingOrder(0).withPersistentGrants(false)
                .withKeyOverride(key, value));
    }

    static Stream<Arguments> garbageSecondQueueKeys() {
        return Stream.of(
                Arguments.of("queue-1/ring-ref", "16000"),
                Arguments.of("queue-1/ring-ref", "x"),
                Arguments.of("queue-1/event-channel", "31337"),
                Arguments.of("queue-1/event-channel", null),
                Arguments.of("queue-3/ring-ref", "16000"));
    }

    /**
     * Multi-queue: the first queues map and bind fine, a later one fails. What the good queues
     * already mapped must be given back.
     */
    @ParameterizedTest(name = "4 queues, {0}={1}")
    @MethodSource("garbageSecondQueueKeys")
    void garbageInALaterQueuesKeysLeavesNothingMapped(String key, String value) throws Exception {
        refusedThenRecovers(FrontOptions.defaults().withRingOrder(0).withQueues(4).withPersistentGrants(false)
                .withKeyOverride(key, value));
    }

    private void refusedThenRecovers(FrontOptions badOptions) throws Exception {
        front.disconnect(BlkifdRig.WAIT);
        rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        SimBlkfront bad = rig.front(badOptions);
        bad.setState(XenbusState.INITIALISING);
        assertThatThrownBy(bad::connect).isInstanceOf(java.io.IOException.class);
        assertThat(rig.backendState()).isIn(XenbusState.CLOSING, XenbusState.CLOSED);
        assertThat(rig.backendKey("error")).isPresent();
        rig.assertNoLiveMappings();
        // The guest resets its driver and tries again with sane keys.
        bad.setState(XenbusState.CLOSED);
        rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        front = rig.front(RING);
        front.reconnect();
        h = front.hostile();
        stillServes();
    }

    @ParameterizedTest(name = "state ''{0}''")
    @ValueSource(strings = {"garbage", "99", "-4", "0", "7"})
    void garbageFrontendStateTearsTheDiskDownCleanly(String state) throws Exception {
        violationsExpected = true;
        stillServes();
        rig.guest.domain().xenstore().write(front.frontendPath() + "/state", state);
        rig.backend.finished().get(30, TimeUnit.SECONDS);
        rig.assertNoLiveMappings();
        assertThat(rig.backendKey("hotplug-status")).as("hotplug-status after teardown").isEmpty();
        rig.assertContained();
        // blkifd itself keeps serving: the toolstack can plug the disk again.
        rig.xenopsd.removeTrees(rig.vbd);
        front.close(); // its directory is gone: it tears down without waiting
        rig.plug();
        front = rig.connect(RING);
        h = front.hostile();
        stillServes();
    }

    // ---- numbers from xenstore (issue 18) --------------------------------------------------------

    static Stream<Arguments> frontendNumbersOutOfRange() {
        return Stream.of(
                // ring-page-order: u32 values that wrap to negative ints, shifts past 31, non-decimal forms
                Arguments.of("ring-page-order", "4294967295"), // once (int) -1: a negative array size
                Arguments.of("ring-page-order", "2147483648"),
                Arguments.of("ring-page-order", "2147483647"),
                Arguments.of("ring-page-order", "32"),
                Arguments.of("ring-page-order", "31"),
                Arguments.of("ring-page-order", "-1"),
                Arguments.of("ring-page-order", "1e3"),
                Arguments.of("ring-page-order", "0x4"),
                Arguments.of("ring-page-order", " 0"),
                Arguments.of("ring-page-order", "0 "),
                Arguments.of("ring-page-order", "+0"),
                Arguments.of("ring-page-order", "00000000000"), // 11 digits
                Arguments.of("ring-page-order", "\u0660"), // a Unicode digit zero
                // num-ring-pages (the legacy key; order 0 writes no ring-page-order)
                Arguments.of("num-ring-pages", "4294967295"),
                Arguments.of("num-ring-pages", "2147483648"),
                Arguments.of("num-ring-pages", "0"),
                Arguments.of("num-ring-pages", "32"), // a power of two above max-ring-pages 16
                Arguments.of("num-ring-pages", "99999999999999999999"),
                Arguments.of("num-ring-pages", " 1"),
                // multi-queue-num-queues
                Arguments.of("multi-queue-num-queues", "4294967295"),
                Arguments.of("multi-queue-num-queues", "4294967296"),
                Arguments.of("multi-queue-num-queues", "2147483648"),
                Arguments.of("multi-queue-num-queues", "-1"),
                Arguments.of("multi-queue-num-queues", "0x1"),
                Arguments.of("multi-queue-num-queues", "1 "),
                // event-channel: port 0 is never allocated; Xen's ports stay below 2^17
                Arguments.of("event-channel", "0"),
                Arguments.of("event-channel", "131072"),
                Arguments.of("event-channel", "2147483648"),
                Arguments.of("event-channel", "4294967295"),
                Arguments.of("event-channel", "4294967296"),
                Arguments.of("event-channel", "-1"),
                Arguments.of("event-channel", "1e3"),
                // ring-ref: a u32; whatever it names must be this guest's grant
                Arguments.of("ring-ref", "4294967295"),
                Arguments.of("ring-ref", "2147483648"),
                Arguments.of("ring-ref", "-1"),
                Arguments.of("ring-ref", "0x10"));
    }

    /**
     * Every number a frontend writes is refused unless it is plain decimal inside its range; the
     * refusal costs the frontend this attempt only: once it resets (Closed, then Initialising) and
     * writes sane keys, it is served. 4294967295 as ring-page-order once threw out of the
     * handshake and left the disk in InitWait for good.
     */
    @ParameterizedTest(name = "{0}=''{1}''")
    @MethodSource("frontendNumbersOutOfRange")
    void frontendNumbersOutOfRangeAreRefusedAndTheDiskStaysUsable(String key, String value) throws Exception {
        refusedThenRecovers(FrontOptions.defaults().withRingOrder(0).withPersistentGrants(false)
                .withKeyOverride(key, value));
    }

    static Stream<Arguments> laterQueueNumbersOutOfRange() {
        return Stream.of(
                Arguments.of("queue-2/event-channel", "4294967295"),
                Arguments.of("queue-2/event-channel", "0"),
                Arguments.of("queue-3/ring-ref0", "4294967295"),
                Arguments.of("queue-1/ring-ref3", "-1"));
    }

    /** The same in the keys of a later queue of a multi-page, multi-queue ring: nothing stays mapped. */
    @ParameterizedTest(name = "4 queues, order 2, {0}=''{1}''")
    @MethodSource("laterQueueNumbersOutOfRange")
    void laterQueueNumbersOutOfRangeAreRefusedAndTheDiskStaysUsable(String key, String value) throws Exception {
        refusedThenRecovers(FrontOptions.defaults().withRingOrder(2).withQueues(4).withPersistentGrants(false)
                .withKeyOverride(key, value));
    }

    /**
     * After a refusal the frontend may start over with Initialising without passing Closed (a
     * driver reload): it is offered InitWait again and served.
     */
    @Test
    void aRefusedFrontendThatGoesStraightBackToInitialisingIsServed() throws Exception {
        front.disconnect(BlkifdRig.WAIT);
        rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        SimBlkfront bad = rig.front(FrontOptions.defaults().withRingOrder(0).withPersistentGrants(false)
                .withFollowBackendClose(false).withKeyOverride("ring-page-order", "5"));
        bad.setState(XenbusState.INITIALISING);
        assertThatThrownBy(bad::connect).isInstanceOf(java.io.IOException.class);
        assertThat(rig.backendState()).isEqualTo(XenbusState.CLOSING);
        assertThat(rig.backendKey("error")).hasValueSatisfying(e -> assertThat(e).contains("ring-page-order"));
        rig.assertNoLiveMappings();
        front = rig.front(RING);
        front.reconnect(); // Initialising straight from Initialised
        h = front.hostile();
        assertThat(rig.backendKey("error")).as("the refusal is history").isEmpty();
        stillServes();
    }

    /**
     * An unchecked exception anywhere in the connect path (here: the device cannot say its size)
     * refuses that attempt instead of stopping the handshake for good: the disk is served again
     * once the frontend resets.
     */
    @Test
    void anUncheckedFailureWhileConnectingRefusesTheAttemptOnly() throws Exception {
        rig.device.sizeFailures.set(1);
        refusedThenRecovers(RING);
        assertThat(rig.device.sizeFailures.get()).as("the injected failure happened").isZero();
    }
}
