package org.spdksr.datapath.blkif;

import static org.assertj.core.api.Assertions.assertThat;
import static org.spdksr.datapath.blkif.BlkifConstants.*;

import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class RequestValidatorTest {
    private static final long DISK = 1 << 20; // sectors
    private final RequestValidator rw = new RequestValidator(new DeviceGeometry(DISK, false, true, false));
    private final RequestValidator ro = new RequestValidator(new DeviceGeometry(DISK, true, false, false));

    private static BlkifRequest.Direct io(int op, long sector, int pages) {
        return new BlkifRequest.Direct(op, op, 1, sector, java.util.Collections.nCopies(pages, new Segment(1, 0, 7)));
    }

    @Test
    void requestsInsideTheDiskPass() {
        assertThat(rw.check(io(OP_READ, 0, 11))).isEmpty();
        assertThat(rw.check(io(OP_WRITE, DISK - 8, 1))).isEmpty();
        assertThat(rw.check(io(OP_FLUSH_DISKCACHE, 0, 0))).isEmpty();
        assertThat(rw.check(new BlkifRequest.Discard(1, 0, DISK, false))).isEmpty();
    }

    @Test
    void requestsCrossingTheEndAreRefused() {
        assertThat(rw.check(io(OP_READ, DISK - 7, 1))).isPresent();
        assertThat(rw.check(io(OP_WRITE, DISK, 1))).isPresent();
        assertThat(rw.check(new BlkifRequest.Discard(1, 1, DISK, false))).isPresent();
        // u64 values that are negative as Java longs, and sums that would wrap
        assertThat(rw.check(io(OP_READ, -8, 1))).isPresent();
        assertThat(rw.check(new BlkifRequest.Discard(1, 8, Long.MAX_VALUE, false))).isPresent();
        assertThat(rw.check(new BlkifRequest.Discard(1, 8, -1, false))).isPresent();
    }

    @Test
    void readOnlyDisksRefuseWritesAndFlushesWithData() {
        assertThat(ro.check(io(OP_READ, 0, 1))).isEmpty();
        assertThat(ro.check(io(OP_FLUSH_DISKCACHE, 0, 0))).isEmpty();
        assertThat(ro.check(io(OP_WRITE, 0, 1))).hasValueSatisfying(m -> assertThat(m.status()).isEqualTo(RSP_ERROR));
        assertThat(ro.check(io(OP_FLUSH_DISKCACHE, 0, 1))).isPresent();
        assertThat(ro.check(io(OP_WRITE_BARRIER, 0, 1))).isPresent();
        assertThat(ro.check(new BlkifRequest.Discard(4, 0, 8, false)))
                .hasValueSatisfying(m -> assertThat(m.status()).isEqualTo(RSP_EOPNOTSUPP));
    }

    @Property(tries = 3000)
    void nothingOutsideTheDiskEverPasses(@ForAll long sector, @ForAll long count) {
        boolean passes = rw.check(new BlkifRequest.Discard(1, sector, count, false)).isEmpty();
        if (passes) {
            assertThat(sector).isBetween(0L, DISK);
            assertThat(count).isBetween(0L, DISK - sector);
        }
    }

    @Test
    void malformedRequestsStayRejected() {
        var bad = new BlkifRequest.Malformed(200, 5, RSP_EOPNOTSUPP, "x");
        assertThat(rw.check(bad)).contains(bad);
        assertThat(List.of(bad)).isNotEmpty();
    }
}
