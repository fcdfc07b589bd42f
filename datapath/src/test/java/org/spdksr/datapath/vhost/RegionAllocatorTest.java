package org.spdksr.datapath.vhost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RegionAllocatorTest {

    @Test
    void allocationsNeverOverlapAndAllSpaceComesBack() {
        RegionAllocator a = new RegionAllocator(8192, 256 * 4096L);
        Random rnd = new Random(1);
        List<long[]> live = new ArrayList<>();
        BitSet owned = new BitSet();
        for (int i = 0; i < 20000; i++) {
            if (rnd.nextInt(3) > 0) {
                int bytes = 1 + rnd.nextInt(40000);
                long off = a.allocate(bytes);
                if (off >= 0) {
                    assertThat(off % 4096).isZero();
                    int first = (int) ((off - 8192) / 4096);
                    int n = RegionAllocator.pagesFor(bytes);
                    assertThat(first + n).isLessThanOrEqualTo(256);
                    assertThat(owned.get(first, first + n).isEmpty()).isTrue();
                    owned.set(first, first + n);
                    live.add(new long[] {off, bytes});
                }
            } else if (!live.isEmpty()) {
                long[] b = live.remove(rnd.nextInt(live.size()));
                a.free(b[0], (int) b[1]);
                int first = (int) ((b[0] - 8192) / 4096);
                owned.clear(first, first + RegionAllocator.pagesFor((int) b[1]));
            }
        }
        live.forEach(b -> a.free(b[0], (int) b[1]));
        assertThat(a.freePages()).isEqualTo(256);
        assertThat(a.allocate(256 * 4096)).isEqualTo(8192);
    }

    @Test
    void freeingWhatWasNotAllocatedIsRefused() {
        RegionAllocator a = new RegionAllocator(0, 16 * 4096L);
        long off = a.allocate(4096);
        a.free(off, 4096);
        assertThatThrownBy(() -> a.free(off, 4096)).hasMessageContaining("not allocated");
    }
}
