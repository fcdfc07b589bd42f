package org.spdksr.datapath.xen.xenstore;

import java.io.IOException;
import java.util.Optional;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * The conformance suite against a real xenstored, run on a Xen dom0 with
 * {@code SPDKSR_REAL_XENSTORE=1} (it writes and removes nodes under {@code /spdksr-conformance-*}).
 * Tests needing an unprivileged connection are skipped: a real xenstored gives one only inside the guest.
 */
@EnabledIfEnvironmentVariable(named = "SPDKSR_REAL_XENSTORE", matches = "1")
class RealXenstoredConformanceTest extends XenstoreConformanceTest {
    @Override
    protected Xenstore connectPrivileged() throws IOException {
        return XenstoreClient.connectHost();
    }

    @Override
    protected Optional<Xenstore> connectAs(int domid) {
        return Optional.empty();
    }
}
