package org.spdksr.datapath.xen.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ReadOnlyBufferException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.xen.grant.CopyEndpoint;
import org.spdksr.datapath.xen.grant.CopySegment;
import org.spdksr.datapath.xen.grant.GrantException;
import org.spdksr.datapath.xen.grant.GrantMapping;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.grant.GrantStatus;
import org.spdksr.datapath.xen.sim.grant.SimGrantAccess;

/** Grant map and copy against a simulated guest, with Xen's permission checks (blkif.md §2). */
class SimGrantAccessTest {
    private static final int GUEST = 4;
    @TempDir
    Path root;
    private SimXenHost host;
    private SimDomain guest;
    private SimGrantAccess backend;

    @BeforeEach
    void setUp() throws IOException {
        host = SimXenHost.start(root);
        host.createDomain(GUEST, 16, 64);
        guest = SimDomain.attach(host.layout(), GUEST);
        backend = new SimGrantAccess(host.layout(), 0);
    }

    @AfterEach
    void tearDown() throws IOException {
        backend.close();
        guest.close();
        host.close();
    }

    private GrantRef grant(int frame, int to, boolean readOnly) {
        return new GrantRef(GUEST, guest.grant(frame, to, readOnly));
    }

    private static GrantStatus refusal(ThrowingMap m) {
        try {
            m.run().close();
        } catch (GrantException e) {
            return e.status();
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        throw new AssertionError("the map was not refused");
    }

    interface ThrowingMap {
        GrantMapping run() throws IOException;
    }

    @Test
    void batchMapIsContiguousAndSharesMemoryBothWays() throws IOException {
        GrantRef a = grant(5, 0, false);
        GrantRef b = grant(2, 0, false);
        guest.memory().page(5).put(0, (byte) 0x55);
        guest.memory().page(2).put(0, (byte) 0x22);
        try (GrantMapping m = backend.map(List.of(a, b), true)) {
            ByteBuffer buf = m.buffer();
            assertThat(buf.capacity()).isEqualTo(2 * 4096);
            assertThat(buf.get(0)).isEqualTo((byte) 0x55);
            assertThat(buf.get(4096)).isEqualTo((byte) 0x22);
            buf.put(4096 + 7, (byte) 0x77);
            assertThat(guest.memory().page(2).get(7)).isEqualTo((byte) 0x77);
        }
    }

    @Test
    void readOnlyMapWorksWithReadOnlyGrantAndRefusesWrites() throws IOException {
        GrantRef ro = grant(3, 0, true);
        guest.memory().page(3).put(100, (byte) 9);
        try (GrantMapping m = backend.map(List.of(ro), false)) {
            assertThat(m.buffer().get(100)).isEqualTo((byte) 9);
            assertThat(m.buffer().isReadOnly()).isTrue();
            assertThatThrownBy(() -> m.buffer().put(0, (byte) 1)).isInstanceOf(ReadOnlyBufferException.class);
        }
    }

    @Test
    void refusalsCarryTheGntstCodeXenGives() throws IOException {
        GrantRef ro = grant(3, 0, true);
        GrantRef forOther = grant(4, 9, false);
        assertThat(refusal(() -> backend.map(List.of(ro), true))).isEqualTo(GrantStatus.GENERAL_ERROR);
        assertThat(refusal(() -> backend.map(List.of(forOther), false))).isEqualTo(GrantStatus.GENERAL_ERROR);
        assertThat(refusal(() -> backend.map(List.of(new GrantRef(GUEST, 64)), false)))
                .isEqualTo(GrantStatus.BAD_GNTREF);
        assertThat(refusal(() -> backend.map(List.of(new GrantRef(GUEST, 20)), false)))
                .isEqualTo(GrantStatus.GENERAL_ERROR);
        assertThat(refusal(() -> backend.map(List.of(new GrantRef(33, 8)), false)))
                .isEqualTo(GrantStatus.BAD_DOMAIN);
        assertThatThrownBy(() -> backend.map(List.of(ro), true)).hasMessageContaining("read-only")
                .hasMessageContaining("domain " + GUEST);
    }

    @Test
    void oneBadRefRefusesTheWholeBatch() {
        GrantRef ok = grant(1, 0, false);
        GrantRef bad = grant(2, 9, false);
        assertThat(refusal(() -> backend.map(List.of(ok, bad), true))).isEqualTo(GrantStatus.GENERAL_ERROR);
    }

    @Test
    void revokedGrantCannotBeMapped() {
        GrantRef r = grant(1, 0, false);
        guest.revoke(r.ref());
        assertThat(refusal(() -> backend.map(List.of(r), false))).isEqualTo(GrantStatus.GENERAL_ERROR);
    }

    @Test
    void aRecreatedDomainIsSeenAfresh() throws IOException {
        GrantRef old = grant(1, 0, false);
        backend.map(List.of(old), false).close();
        guest.close();
        host.destroyDomain(GUEST);
        assertThat(refusal(() -> backend.map(List.of(old), false))).isEqualTo(GrantStatus.BAD_DOMAIN);
        host.createDomain(GUEST, 4, 16);
        guest = SimDomain.attach(host.layout(), GUEST);
        assertThat(refusal(() -> backend.map(List.of(old), false))).isEqualTo(GrantStatus.GENERAL_ERROR);
        GrantRef fresh = grant(3, 0, false);
        guest.memory().page(3).put(0, (byte) 33);
        try (GrantMapping m = backend.map(List.of(fresh), false)) {
            assertThat(m.buffer().get(0)).isEqualTo((byte) 33);
        }
    }

    @Test
    void copyReportsOneStatusPerSegment() throws IOException {
        GrantRef ro = grant(6, 0, true);
        GrantRef rw = grant(7, 0, false);
        guest.memory().page(6).put(10, (byte) 61);
        ByteBuffer local = ByteBuffer.allocateDirect(8192);
        local.put(4096, (byte) 42);
        List<GrantStatus> st = backend.copy(List.of(
                CopySegment.fromGrant(ro, 10, local, 0, 1),
                CopySegment.toGrant(local, 4096, rw, 20, 1),
                CopySegment.toGrant(local, 4096, ro, 0, 1),
                CopySegment.fromGrant(new GrantRef(GUEST, 1000), 0, local, 0, 1)));
        assertThat(st).containsExactly(GrantStatus.OKAY, GrantStatus.OKAY, GrantStatus.GENERAL_ERROR,
                GrantStatus.BAD_GNTREF);
        assertThat(local.get(0)).isEqualTo((byte) 61);
        assertThat(guest.memory().page(7).get(20)).isEqualTo((byte) 42);
        assertThat(guest.memory().page(6).get(0)).isZero();
    }

    @Test
    void copySegmentRulesAreCheckedBeforeAnyCopy() {
        GrantRef rw = grant(7, 0, false);
        ByteBuffer local = ByteBuffer.allocateDirect(8192);
        assertThatThrownBy(() -> CopySegment.fromGrant(rw, 4000, local, 0, 200))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("crosses");
        assertThatThrownBy(() -> new CopySegment(new CopyEndpoint.Local(local, 0), new CopyEndpoint.Local(local, 1), 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one side");
    }
}
