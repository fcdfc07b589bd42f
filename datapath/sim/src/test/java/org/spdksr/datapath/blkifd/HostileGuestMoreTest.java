package org.spdksr.datapath.blkifd;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
import org.spdksr.datapath.sim.blkfront.RequestEncoder;
import org.spdksr.datapath.sim.blkfront.Response;
import org.spdksr.datapath.sim.blkfront.SegmentDescriptor;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;
import org.spdksr.datapath.sim.blkfront.XenbusState;
import org.spdksr.datapath.xen.sim.SimDomain;

/**
 * More of the hostile-guest suite (issue 18, item 5), request by request like
 * {@link HostileGuestTest}: overflow in every sector and segment sum, grant references that are
 * another domain's, read-only grants for device writes, a read into the guest's own ring page,
 * hundreds of distinct persistent grants, a bogus index on one queue of several. Each: an error
 * answer with the id and operation echoed (or the ring shut down where the protocol says so), the
 * volume and its sentinels untouched, the ring serving afterwards, and no page of the guest mapped
 * when the backend says Closed (checked at the moment of the write, {@link BlkifdRig}).
 */
@Timeout(120)
class HostileGuestMoreTest {
    private static final short OK = Response.OKAY;
    private static final short ERROR = Response.ERROR;
    private static final FrontOptions RING = FrontOptions.defaults().withRingOrder(2).withPersistentGrants(false);
    private static final FrontOptions PERSISTENT = RING.withPersistentGrants(true);
    /** A second guest on the same host, for grant references that are its own. */
    private static final int OTHER_GUEST = 8;

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
    private boolean violationsExpected;
    private final List<GrantedPage> pages = new ArrayList<>();

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
        connectFront(RING);
    }

    @AfterAll
    static void closeShared() throws Exception {
        if (shared != null) {
            shared.close();
            shared = null;
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        finish();
    }

    /** A new guest driver with {@code options}, after the current one disconnected. */
    private void connectFront(FrontOptions options) throws Exception {
        if (front != null && front.connected()) {
            front.disconnect(BlkifdRig.WAIT);
            rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        }
        releasePages();
        front = rig.front(options);
        front.reconnect();
        h = front.hostile();
    }

    /**
     * Disconnects; the backend must have said Closed with nothing of the guest mapped, and nothing
     * outside the volume may have changed. The pages a test granted are given back to the guest.
     */
    private void finish() throws Exception {
        boolean clean = false;
        try {
            if (!violationsExpected && front != null) {
                assertThat(front.protocolViolations()).as("what the frontend saw the backend do wrong").isEmpty();
            }
            int closedBefore = rig.closedWrites().size();
            if (front != null && front.connected()) {
                front.disconnect(BlkifdRig.WAIT);
            }
            rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
            if (closedBefore == rig.closedWrites().size() && front != null) {
                assertThat(rig.closedWrites()).as("Closed writes seen by the rig").isNotEmpty();
            }
            rig.assertNoLiveMappings();
            assertThat(rig.host.liveMappings(OTHER_GUEST)).as("mappings of the other guest's grants").isEmpty();
            rig.assertContained();
            releasePages();
            clean = true;
        } finally {
            front = null;
            pages.clear();
            if (rig != shared) {
                rig.close();
            } else if (!clean) {
                shared.close(); // a broken rig must not fail the next tests
                shared = null;
            }
            rig = null;
        }
    }

    private void releasePages() {
        if (h != null) {
            for (GrantedPage p : pages) {
                h.release(p);
            }
        }
        pages.clear();
    }

    // ---- helpers -------------------------------------------------------------------------------

    private GrantedPage page(byte[] contents, boolean readOnly) {
        GrantedPage p = h.grantToBackend(contents, readOnly);
        pages.add(p);
        return p;
    }

    private GrantedPage dataPage() {
        return page(rig.randomBytes(4096), false);
    }

    private static SegmentDescriptor seg(GrantedPage p, int first, int last) {
        return SegmentDescriptor.of(p.gref(), first, last);
    }

    private static List<SegmentDescriptor> times(SegmentDescriptor s, int n) {
        List<SegmentDescriptor> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(s);
        }
        return out;
    }

    private FrontRequest.ReadWrite rw(int op, long sector, List<SegmentDescriptor> segs) {
        return new FrontRequest.ReadWrite(op, h.newId(0), sector, segs);
    }

    private FrontRequest.Indirect indirect(int indirectOp, long sector, List<SegmentDescriptor> segs) {
        GrantedPage d = h.indirectPage(segs);
        pages.add(d);
        return new FrontRequest.Indirect(indirectOp, h.newId(0), sector, segs.size(), List.of(d.gref()));
    }

    /** Publishes on queue 0 and waits for the answer; the id and the operation byte must be echoed. */
    private Response send(FrontRequest request) throws Exception {
        HostileFront.Published p = h.publish(0, request);
        Response r = p.response().get(BlkifdRig.WAIT.toSeconds(), TimeUnit.SECONDS);
        assertThat(r.id()).as("echoed id").isEqualTo(p.id());
        assertThat(r.operation()).as("echoed operation byte").isEqualTo(request.responseOperation());
        return r;
    }

    /** Answered with {@code status}, not one byte of the volume changed, nothing outside it either. */
    private void rejected(FrontRequest request, short status) throws Exception {
        byte[] before = rig.volumeBytes();
        assertThat(send(request).status()).as("status of a hostile request " + request).isEqualTo(status);
        BlkifdRig.assertSameBytes(rig.volumeBytes(), before, "volume after a rejected request");
        rig.assertContained();
    }

    private void stillServes() throws Exception {
        rig.verifiedWriteRead(front, 0, 8 * (1 + rig.random.nextInt(900)), 3 * 4096);
        rig.assertContained();
    }

    private void rejectedThenServes(FrontRequest request) throws Exception {
        rejected(request, ERROR);
        stillServes();
    }

    // ---- overflow in every sector sum ------------------------------------------------------------

    private static final long OFFSET_WRAPS_TO_0 = 1L << 55; // sector * 512 = 2^64
    private static final long OFFSET_WRAPS_INTO_THE_VOLUME = (1L << 55) + 64; // sector * 512 = 2^64 + 32 KiB
    private static final long OFFSET_IS_2_TO_THE_63 = 1L << 54; // sector * 512 = 2^63: negative as a long

    /** Sectors whose byte offset, or whose end (with {@code sectors} more), wraps around 2^64. */
    static Stream<Arguments> wrappingStarts(long sectors) {
        return Stream.of(
                Arguments.of("byte offset wraps to 0", OFFSET_WRAPS_TO_0),
                Arguments.of("byte offset wraps into the volume", OFFSET_WRAPS_INTO_THE_VOLUME),
                Arguments.of("byte offset 2^63", OFFSET_IS_2_TO_THE_63),
                Arguments.of("end wraps to 0", -sectors),
                Arguments.of("end wraps into the volume", -sectors + 8),
                Arguments.of("end byte offset wraps to 0", (1L << 55) - sectors));
    }

    static Stream<Arguments> directOverflows() {
        // 11 segments of 8 sectors: 88 sectors.
        return Stream.of(0, 1, 2, 3).flatMap(op -> wrappingStarts(88)
                .map(a -> Arguments.of(op, a.get()[0], a.get()[1])));
    }

    /** Read, write, barrier and flush with data, 11 full segments, at sectors whose sums wrap. */
    @ParameterizedTest(name = "operation {0}: {1}")
    @MethodSource("directOverflows")
    void directRequestWhoseSectorSumWraps(int op, String name, long sector) throws Exception {
        rejectedThenServes(rw(op, sector, times(seg(dataPage(), 0, 7), 11)));
    }

    static Stream<Arguments> indirectOverflows() {
        // 256 segments of 8 sectors: 2048 sectors, 1 MiB.
        return Stream.of(0, 1).flatMap(op -> wrappingStarts(2048)
                .map(a -> Arguments.of(op, a.get()[0], a.get()[1])));
    }

    @ParameterizedTest(name = "indirect operation {0}: {1}")
    @MethodSource("indirectOverflows")
    void indirectRequestWhoseSectorSumWraps(int op, String name, long sector) throws Exception {
        rejectedThenServes(indirect(op, sector, times(seg(dataPage(), 0, 7), 256)));
    }

    static Stream<Arguments> discardOverflows() {
        return Stream.of(
                Arguments.of("start byte offset wraps to 0", 1L << 55, 8L),
                Arguments.of("start byte offset wraps into the volume", (1L << 55) + 8, 8L),
                Arguments.of("length in bytes wraps to 0", 0L, 1L << 55),
                Arguments.of("length in bytes wraps to 4 KiB", 0L, (1L << 55) + 8),
                Arguments.of("start + length wraps to 0", 1L << 63, 1L << 63),
                Arguments.of("start + length wraps to 8", (1L << 55) + 8, -(1L << 55)),
                Arguments.of("byte end wraps to 0", 8L, (1L << 55) - 8));
    }

    @ParameterizedTest(name = "discard: {0}")
    @MethodSource("discardOverflows")
    void discardWhoseSectorSumWraps(String name, long sector, long count) throws Exception {
        rejectedThenServes(new FrontRequest.Discard(h.newId(0), sector, count, false));
    }

    // ---- overflow in the segment sums ----------------------------------------------------------

    static Stream<Arguments> badSegmentRanges() {
        return Stream.of(0, 1).flatMap(op -> Stream.of(
                Arguments.of(op, "first 255 last 7: 7-255+1 is 9 in a byte", 255, 7),
                Arguments.of(op, "first 128 last 0", 128, 0),
                Arguments.of(op, "first 8 last 8: one sector past the page", 8, 8),
                Arguments.of(op, "first 200 last 200", 200, 200),
                Arguments.of(op, "first 255 last 255", 255, 255)));
    }

    @ParameterizedTest(name = "operation {0}: {1}")
    @MethodSource("badSegmentRanges")
    void segmentWhoseSectorRangeWrapsOrLeavesThePage(int op, String name, int first, int last) throws Exception {
        GrantedPage p = dataPage();
        // A good segment first: the bad one must fail the whole request, not be skipped.
        rejectedThenServes(rw(op, 64, List.of(seg(p, 0, 7), SegmentDescriptor.of(p.gref(), first, last))));
    }

    @ParameterizedTest(name = "indirect operation {0}: {1}")
    @MethodSource("badSegmentRanges")
    void indirectSegmentWhoseSectorRangeWrapsOrLeavesThePage(int op, String name, int first, int last)
            throws Exception {
        GrantedPage p = dataPage();
        List<SegmentDescriptor> segs = new ArrayList<>(times(seg(p, 0, 7), 200));
        segs.set(199, SegmentDescriptor.of(p.gref(), first, last));
        rejectedThenServes(indirect(op, 64, segs));
    }

    // ---- grant references of another domain ----------------------------------------------------

    /**
     * A second guest that granted a page to domain 0, under a reference this guest does not use:
     * a backend that looked the reference up in the wrong table would reach that page.
     */
    private record OtherGrant(SimDomain domain, int gref, int frame, byte[] contents) {
        byte[] now() {
            byte[] b = new byte[4096];
            domain.memory().page(frame).get(0, b);
            return b;
        }
    }

    private OtherGrant otherDomainsGrant() throws Exception {
        if (!java.nio.file.Files.exists(rig.host.layout().domainDir(OTHER_GUEST))) {
            rig.host.createDomain(OTHER_GUEST, 64, 16384);
        }
        SimDomain other = SimDomain.attach(rig.host.layout(), OTHER_GUEST);
        int frame = 5;
        byte[] contents = rig.randomBytes(4096);
        other.memory().page(frame).put(0, contents);
        var ownTable = rig.domain.grantTable();
        List<Integer> skipped = new ArrayList<>();
        int gref = other.grant(frame, 0, false);
        while (ownTable.entry(gref).permitsAccess()) {
            skipped.add(gref);
            gref = other.grant(frame, 0, false);
        }
        skipped.forEach(other::revoke);
        return new OtherGrant(other, gref, frame, contents);
    }

    static Stream<Arguments> otherDomainUses() {
        return Stream.of(true, false).flatMap(persistent -> Stream.of("read into it", "write from it",
                "indirect descriptor page", "indirect read into it", "indirect write from it")
                .map(use -> Arguments.of(use, persistent)));
    }

    /** The reference names another domain's grant to domain 0: this guest's table says unused. */
    @ParameterizedTest(name = "{0}, persistent grants {1}")
    @MethodSource("otherDomainUses")
    void aGrantReferenceThatIsAnotherDomainsGrant(String use, boolean persistent) throws Exception {
        if (persistent) {
            connectFront(PERSISTENT);
        }
        // This guest's pages first: a grant made later could take the number chosen below.
        GrantedPage good = dataPage();
        GrantedPage descriptors = page(new byte[0], true);
        OtherGrant other = otherDomainsGrant();
        try {
            SegmentDescriptor foreign = SegmentDescriptor.of(other.gref(), 0, 7);
            List<SegmentDescriptor> segs = List.of(seg(good, 0, 7), foreign, seg(good, 0, 7));
            RequestEncoder.encodeDescriptors(segs, rig.guest.pages().page(descriptors.frame()), 0);
            FrontRequest request = switch (use) {
                case "read into it" -> rw(0, 64, segs);
                case "write from it" -> rw(1, 64, segs);
                case "indirect descriptor page" -> new FrontRequest.Indirect(1, h.newId(0), 64, 3, List.of(other.gref()));
                case "indirect read into it" -> new FrontRequest.Indirect(0, h.newId(0), 64, 3, List.of(descriptors.gref()));
                default -> new FrontRequest.Indirect(1, h.newId(0), 64, 3, List.of(descriptors.gref()));
            };
            // Nothing else of this guest's was granted since the number was chosen.
            assertThat(rig.domain.grantTable().entry(other.gref()).permitsAccess()).isFalse();
            rejectedThenServes(request);
            assertThat(other.now()).as("the other domain's page").isEqualTo(other.contents());
            assertThat(rig.host.liveMappings(OTHER_GUEST)).as("mappings of the other domain's grants").isEmpty();
        } finally {
            other.domain().revoke(other.gref());
            other.domain().close();
        }
    }

    // ---- read-only grants for a device write ---------------------------------------------------

    static Stream<Arguments> readOnlyWrites() {
        return Stream.of(true, false).flatMap(persistent -> Stream.of("write", "flush with data", "indirect write",
                "write mixing read-only and read-write grants").map(kind -> Arguments.of(kind, persistent)));
    }

    /**
     * A device write only reads the guest's pages, so read-only grants are enough (Windows grants
     * this way): the data lands and the pages are left alone, also when persistent grants are on
     * (the backend may not keep a read-only grant mapped writable: it falls back to grant copy).
     */
    @ParameterizedTest(name = "{0}, persistent grants {1}")
    @MethodSource("readOnlyWrites")
    void aWriteFromReadOnlyGrantsLandsAndLeavesThePagesAlone(String kind, boolean persistent) throws Exception {
        if (persistent) {
            connectFront(PERSISTENT);
        }
        byte[] a = rig.randomBytes(4096);
        byte[] b = rig.randomBytes(4096);
        GrantedPage pa = page(a, true);
        GrantedPage pb = page(b, !kind.startsWith("write mixing"));
        List<SegmentDescriptor> segs = List.of(seg(pa, 0, 7), seg(pb, 0, 7));
        long sector = 8 * (16 + rig.random.nextInt(800));
        FrontRequest request = switch (kind) {
            case "flush with data" -> rw(3, sector, segs);
            case "indirect write" -> indirect(1, sector, segs);
            default -> rw(1, sector, segs);
        };
        for (int round = 0; round < 2; round++) { // the second time from persistent mappings, if any
            assertThat(send(request).status()).as(kind + " from read-only grants, round " + round).isEqualTo(OK);
            BlkifdRig.assertSameBytes(rig.fileRange(sector, 4096), a, "first page on disk");
            BlkifdRig.assertSameBytes(rig.fileRange(sector + 8, 4096), b, "second page on disk");
            request = switch (kind) {
                case "flush with data" -> rw(3, sector, segs);
                case "indirect write" -> indirect(1, sector, segs);
                default -> rw(1, sector, segs);
            };
        }
        assertThat(h.pageContents(pa)).isEqualTo(a);
        assertThat(h.pageContents(pb)).isEqualTo(b);
        stillServes();
    }

    /**
     * A read-only grant the backend has already written from must not be kept mapped writable
     * for later: a read into it fails and the page stays as it was.
     */
    @ParameterizedTest(name = "persistent grants {0}")
    @ValueSource(booleans = {true, false})
    void aReadOnlyGrantUsedForAWriteThenForARead(boolean persistent) throws Exception {
        if (persistent) {
            connectFront(PERSISTENT);
        }
        byte[] mark = rig.randomBytes(4096);
        GrantedPage ro = page(mark, true);
        assertThat(send(rw(1, 256, List.of(seg(ro, 0, 7)))).status()).isEqualTo(OK);
        rejected(rw(0, 256, List.of(seg(ro, 0, 7))), ERROR);
        rejected(indirect(0, 256, List.of(seg(dataPage(), 0, 7), seg(ro, 0, 7))), ERROR);
        assertThat(h.pageContents(ro)).as("the read-only page").isEqualTo(mark);
        stillServes();
    }

    // ---- the guest's own ring page -------------------------------------------------------------

    /**
     * A read whose data page is the guest's own ring page (legal: the guest granted it to us).
     * The data read is a ring header whose req_prod is far ahead, so once it lands the ring is
     * bogus and the backend must shut it down (blkif.md §1.8) without crashing, keep the volume as
     * it was, and leave nothing mapped, the ring page mapped twice with persistent grants included.
     */
    @ParameterizedTest(name = "persistent grants {0}")
    @ValueSource(booleans = {true, false})
    void aReadIntoTheGuestsOwnRingPage(boolean persistent) throws Exception {
        if (persistent) {
            connectFront(PERSISTENT);
        }
        int ringRef = Integer.parseInt(front.guest().domain().xenstore()
                .readString(front.frontendPath() + "/ring-ref0").trim());
        byte[] header = new byte[4096];
        ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN).putInt(0, h.reqProd(0) + 0x4000_0000);
        long sector = 8 * (16 + rig.random.nextInt(800));
        assertThat(front.write(sector, header).get(30, TimeUnit.SECONDS).status()).isEqualTo(OK);
        byte[] before = rig.volumeBytes();
        violationsExpected = true; // the frontend's own ring is garbage from here on
        h.publish(0, rw(0, sector, List.of(SegmentDescriptor.of(ringRef, 0, 7))));
        rig.awaitBackendState(s -> s != XenbusState.CONNECTED, "not Connected");
        assertThat(rig.backendKey("error")).as("the backend's error key").isPresent();
        front.disconnection().get(30, TimeUnit.SECONDS); // the frontend follows the backend's Closing
        rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        rig.assertNoLiveMappings();
        BlkifdRig.assertSameBytes(rig.volumeBytes(), before, "volume after the read into the ring page");
        rig.assertContained();
        connectFront(persistent ? PERSISTENT : RING);
        stillServes();
    }

    // ---- many persistent grants ----------------------------------------------------------------

    /**
     * 600 distinct grants, each used for a write and a read, on a backend that keeps 64 mapped per
     * queue: the first are mapped and kept, the rest go through grant copy; all data is right and
     * at Closed nothing is mapped.
     */
    @Test
    void sixHundredDistinctPersistentGrantsCycled() throws Exception {
        connectFront(PERSISTENT);
        assertThat(front.persistentGrantsInUse()).isTrue();
        int n = 600;
        List<GrantedPage> grants = new ArrayList<>();
        List<byte[]> data = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            data.add(rig.randomBytes(4096));
            grants.add(page(data.get(i), false));
        }
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < n; i++) {
                assertThat(send(rw(1, 8L * i, List.of(seg(grants.get(i), 0, 7)))).status()).isEqualTo(OK);
            }
            for (int i = 0; i < n; i++) {
                rig.guest.pages().page(grants.get(i).frame()).put(0, new byte[4096]);
                assertThat(send(rw(0, 8L * i, List.of(seg(grants.get(i), 0, 7)))).status()).isEqualTo(OK);
                BlkifdRig.assertSameBytes(h.pageContents(grants.get(i)), data.get(i), "page " + i + " read back");
            }
        }
        for (int i = 0; i < n; i++) {
            BlkifdRig.assertSameBytes(rig.fileRange(8L * i, 4096), data.get(i), "volume page " + i);
        }
        assertThat(rig.liveMappings()).as("the ring plus at most 64 persistent grants").hasSizeBetween(2, 65);
        stillServes();
    }

    // ---- a bogus index on one queue of four ----------------------------------------------------

    /**
     * Four queues; queue 2's producer index jumps more than a ring ahead. The backend shuts the
     * connection down (all four rings: one frontend, one device state) with error, unmaps all of
     * them before it says Closed, and a reset frontend gets four working queues again.
     */
    @ParameterizedTest(name = "persistent grants {0}")
    @ValueSource(booleans = {true, false})
    void aBogusIndexOnOneQueueOfFour(boolean persistent) throws Exception {
        FrontOptions four = FrontOptions.defaults().withRingOrder(0).withQueues(4).withPersistentGrants(persistent);
        connectFront(four);
        for (int q = 0; q < 4; q++) {
            rig.verifiedWriteRead(front, q, 64L * (q + 1), 8192);
        }
        violationsExpected = true;
        h.setReqProd(2, h.reqProd(2) + front.ringEntries() + 5);
        rig.awaitBackendState(s -> s != XenbusState.CONNECTED, "not Connected");
        assertThat(rig.backendKey("error")).as("the backend's error key").get().asString().contains("q2");
        front.disconnection().get(30, TimeUnit.SECONDS);
        rig.awaitBackendState(s -> s == XenbusState.CLOSED, "Closed");
        rig.assertNoLiveMappings();
        rig.assertContained();
        connectFront(four);
        for (int q = 0; q < 4; q++) {
            rig.verifiedWriteRead(front, q, 512L + 64L * q, 8192);
        }
        assertThat(Arrays.asList(front.queueCount(), rig.backend.queueCount())).containsOnly(4);
    }
}
