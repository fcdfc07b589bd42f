package org.spdksr.datapath.xen.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreClient;

/** The standalone simulated host: starts, creates the requested domains, stops when its stdin closes. */
@Timeout(60)
class SimXenHostMainTest {
    @TempDir
    Path root;

    @Test
    void runsAsItsOwnProcessAndStopsWhenStdinCloses() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                SimXenHostMain.class.getName(), root.toString(), "3:8:32").redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
            String line = out.readLine();
            assertThat(line).startsWith("XENSTORED_PATH=");
            Path socket = Path.of(line.substring("XENSTORED_PATH=".length()));
            try (Xenstore xs = XenstoreClient.connectSocket(socket)) {
                assertThat(xs.readString("/local/domain/3/name")).isEqualTo("sim-guest-3");
            }
            try (SimDomain d = SimDomain.attach(new SimLayout(root), 3)) {
                assertThat(d.memory().pages()).isEqualTo(8);
                assertThat(d.grantTable().size()).isEqualTo(32);
            }
            p.getOutputStream().close();
            assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
            assertThat(p.exitValue()).isZero();
        } finally {
            p.destroyForcibly();
        }
    }
}
