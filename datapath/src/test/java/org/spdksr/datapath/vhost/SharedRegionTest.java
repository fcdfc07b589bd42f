package org.spdksr.datapath.vhost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class SharedRegionTest {

    private static long freeHugePages() throws Exception {
        return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("HugePages_Free:"))
                .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElse(0);
    }

    @Test
    void plainRegionIsSharedMemoryOfTheAskedSize() throws Exception {
        try (SharedRegion r = SharedRegion.create("test", VhostDeviceOptions.Backing.PLAIN, 4 << 20)) {
            assertThat(r.size()).isEqualTo(4 << 20);
            assertThat(r.fd()).isPositive();
            r.buffer().putLong(4096, 0x1122334455667788L);
            assertThat(r.buffer().getLong(4096)).isEqualTo(0x1122334455667788L);
            assertThat(r.contains(r.address(), 4 << 20)).isTrue();
            assertThat(r.contains(r.address() + 1, 4 << 20)).isFalse();
            assertThat(Files.readSymbolicLink(Path.of("/proc/self/fd/" + r.fd())).toString()).contains("memfd:test");
        }
    }

    @Test
    void hugetlbWithoutReservedPagesSaysWhatToDo() throws Exception {
        assumeTrue(freeHugePages() < 2, "skipped: this host has free hugepages, so the hugetlb region would succeed");
        assertThatThrownBy(() -> SharedRegion.create("test", VhostDeviceOptions.Backing.HUGETLB, 4 << 20))
                .hasMessageContaining("hugetlb memfd")
                .hasMessageContaining("nr_hugepages")
                .hasMessageContaining("plain memory");
    }

    @Test
    void hugetlbRegionWorksWhenPagesAreReserved() throws Exception {
        assumeTrue(freeHugePages() >= 2, "skipped: no free 2 MiB hugepages reserved (echo 2 > /proc/sys/vm/nr_hugepages)");
        try (SharedRegion r = SharedRegion.create("test", VhostDeviceOptions.Backing.HUGETLB, 4 << 20)) {
            assertThat(r.address() % (2 << 20)).isZero();
            r.buffer().put(0, (byte) 1);
        }
    }
}
