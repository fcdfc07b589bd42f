package org.spdksr.datapath.sim.blkfront;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.blkifd.BackendFeatures;
import org.spdksr.datapath.blkifd.BlkifBackendService;
import org.spdksr.datapath.device.NullBlockDevice;
import org.spdksr.datapath.sim.xenopsd.SimXenopsd;
import org.spdksr.datapath.sim.xenopsd.Vbd;
import org.spdksr.datapath.sim.xenopsd.VbdSpec;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.XenAccessConfig;
import org.spdksr.datapath.xen.XenAccessFactory;
import org.spdksr.datapath.xen.sim.SimDomain;
import org.spdksr.datapath.xen.sim.SimXenHost;

/**
 * Each hostile primitive does what it says, shown against blkifd: a smoke test of the API the
 * robustness suite will compose, not that suite itself.
 */
@Timeout(120)
class HostilePrimitivesSmokeTest {
    private static final int GUEST = 8;
    private static final long SECTORS = 2048;
    @TempDir
    Path root;
    private SimXenHost host;
    private XenAccess dom0;
    private SimDomain domain;
    private SimGuest guest;
    private BlkifBackendService blkifd;
    private SimBlkfront front;
    private HostileFront h;

    @BeforeEach
    void setUp() throws Exception {
        host = SimXenHost.start(root);
        host.createDomain(GUEST, 2048, 4096);
        dom0 = XenAccessFactory.open(XenAccessConfig.sim(root));
        domain = SimDomain.attach(host.layout(), GUEST);
        guest = new SimGuest(domain, 16);
        blkifd = new BlkifBackendService(dom0, new BackendFeatures(2, 1, 64, 0));
        VbdSpec spec = VbdSpec.qdisk(GUEST, "xvdb", false, "null", Map.of());
        blkifd.serve(GUEST, spec.devid(), new NullBlockDevice(SECTORS * 512), false);
        Vbd vbd = new SimXenopsd(dom0.xenstore()).plug(spec);
        front = new SimBlkfront(guest, vbd.devid(), FrontOptions.defaults().withPersistentGrants(false));
        front.connect();
        h = front.hostile();
    }

    @AfterEach
    void tearDown() throws Exception {
        front.close();
        blkifd.close();
        guest.close();
        domain.close();
        dom0.close();
        host.close();
    }

    private Response answer(HostileFront.Published p) throws Exception {
        Response r = p.response().get(10, TimeUnit.SECONDS);
        assertThat(r.id()).isEqualTo(p.id());
        return r;
    }

    private FrontRequest.ReadWrite rw(int op, long sector, SegmentDescriptor... segs) {
        return new FrontRequest.ReadWrite(op, h.newId(0), sector, List.of(segs));
    }

    @Test
    void malformedRequestsGetErrorsWithTheirIdAndTheRingStaysUsable() throws Exception {
        GrantedPage page = h.grantToBackend(new byte[4096], false);
        assertThat(answer(h.publish(0, rw(4, 0))).status()).isEqualTo(Response.EOPNOTSUPP);
        assertThat(answer(h.publish(0, rw(200, 0))).ok()).isFalse();
        assertThat(answer(h.publish(0, rw(0, 0, SegmentDescriptor.of(page.gref(), 0, 8)))).ok()).isFalse();
        assertThat(answer(h.publish(0, rw(0, 0, SegmentDescriptor.of(page.gref(), 5, 4)))).ok()).isFalse();
        assertThat(answer(h.publish(0, rw(0, SECTORS - 4, SegmentDescriptor.of(page.gref(), 0, 7)))).ok()).isFalse();
        List<SegmentDescriptor> twelve = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            twelve.add(SegmentDescriptor.of(page.gref(), 0, 7));
        }
        assertThat(answer(h.publish(0, new FrontRequest.ReadWrite(0, h.newId(0), 0, twelve))).ok()).isFalse();
        assertThat(answer(h.publish(0, rw(0, 0, SegmentDescriptor.of(h.unusedGrantRef(), 0, 7)))).ok()).isFalse();
        assertThat(answer(h.publish(0, rw(0, 0, SegmentDescriptor.of(h.outOfTableGrantRef(), 0, 7)))).ok())
                .isFalse();
        GrantedPage elsewhere = h.grantPage(new byte[0], 99, false);
        assertThat(answer(h.publish(0, rw(0, 0, SegmentDescriptor.of(elsewhere.gref(), 0, 7)))).ok()).isFalse();
        GrantedPage badIndirect = h.indirectPage(List.of(SegmentDescriptor.of(page.gref(), 3, 9)));
        assertThat(answer(h.publish(0, new FrontRequest.Indirect(0, h.newId(0), 0, 1,
                List.of(badIndirect.gref())))).ok()).isFalse();
        byte[] raw = h.encode(rw(1, 0, SegmentDescriptor.of(page.gref(), 0, 7)));
        raw[0] = 7;
        assertThat(answer(h.publishRaw(0, raw)).operation()).isEqualTo(7);

        assertThat(front.read(0, 4096).get(10, TimeUnit.SECONDS).ok()).as("the ring still works").isTrue();
        assertThat(front.protocolViolations()).isEmpty();
        h.release(page);
        h.release(elsewhere);
        h.release(badIndirect);
    }

    @Test
    void aReadIntoAReadOnlyGrantFailsAndLeavesThePageAlone() throws Exception {
        byte[] mark = new byte[4096];
        java.util.Arrays.fill(mark, (byte) 0x77);
        GrantedPage ro = h.grantToBackend(mark, true);
        assertThat(answer(h.publish(0, rw(0, 0, SegmentDescriptor.of(ro.gref(), 0, 7)))).ok()).isFalse();
        assertThat(h.pageContents(ro)).isEqualTo(mark);
        GrantedPage rw = h.grantToBackend(mark, true);
        assertThat(answer(h.publish(0, rw(1, 0, SegmentDescriptor.of(rw.gref(), 0, 7)))).ok())
                .as("a write may use a read-only grant").isTrue();
        h.release(ro);
        h.release(rw);
    }

    @Test
    void aProducerMoreThanARingAheadShutsTheRingDown() throws Exception {
        h.setReqProd(0, h.reqProd(0) + h.ringEntries() + 5);
        XenstoreWaits.await(dom0.xenstore(), front.backendPath() + "/state",
                v -> XenbusState.parse(v).ordinal() >= XenbusState.CLOSING.ordinal(), "Closing or Closed",
                Duration.ofSeconds(20));
    }
}
