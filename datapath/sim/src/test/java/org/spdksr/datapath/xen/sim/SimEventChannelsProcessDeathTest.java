package org.spdksr.datapath.xen.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.xen.sim.evtchn.SimEventChannels;

/**
 * A backend process that dies (kill -9) releases its event-channel bindings, as the kernel's close
 * of its evtchn file does on real Xen, so that a restarted backend can bind the frontend's port
 * again (issue 18: the simulator used to keep the dead process's binding and answer EINVAL).
 */
@Timeout(60)
class SimEventChannelsProcessDeathTest {
    private static final int GUEST = 3;

    @TempDir
    Path root;

    @Test
    void aKilledBackendsBindingIsReleasedAndTheFrontendsPortCanBeBoundAgain() throws Exception {
        SimLayout layout = new SimLayout(root);
        try (SimEventChannels guest = SimEventChannels.open(layout, GUEST);
                SimEventChannels restarted = SimEventChannels.open(layout, 0)) {
            int guestPort = guest.bindUnbound(0);
            Process first = startBinder(guestPort);
            try {
                assertThatThrownBy(() -> restarted.bindInterdomain(GUEST, guestPort))
                        .as("a live backend's binding is exclusive").hasMessageContaining("already bound");
            } finally {
                first.destroyForcibly();
                assertThat(first.waitFor(10, TimeUnit.SECONDS)).isTrue();
            }

            int port = restarted.bindInterdomain(GUEST, guestPort);
            guest.notify(guestPort);
            assertThat(restarted.awaitPending(Duration.ofSeconds(20))).containsExactly(port);
            restarted.unmask(port);
            restarted.notify(port);
            assertThat(guest.awaitPending(Duration.ofSeconds(20))).containsExactly(guestPort);
        }
    }

    private Process startBinder(int guestPort) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                EvtchnBinderMain.class.getName(), root.toString(), Integer.toString(GUEST), Integer.toString(guestPort))
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = out.readLine();
        assertThat(line).as("the binder's first line").startsWith("bound ");
        return p;
    }
}
