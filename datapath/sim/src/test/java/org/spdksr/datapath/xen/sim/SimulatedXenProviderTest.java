package org.spdksr.datapath.xen.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.XenAccessConfig;
import org.spdksr.datapath.xen.XenAccessFactory;

/** With this module on the class path, the product's factory finds the simulated host by its service entry. */
class SimulatedXenProviderTest {
    @TempDir
    Path root;

    @Test
    void simModeReachesTheSimulatedHost() throws IOException {
        try (SimXenHost host = SimXenHost.start(root);
                XenAccess xen = XenAccessFactory.open(XenAccessConfig.sim(root))) {
            assertThat(xen.xenstore().readString("/local/domain/0/name")).isEqualTo("Domain-0");
        }
    }
}
