package org.spdksr.datapath.xen.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.xen.sim.evtchn.SimEventChannels;

/** Simulated event channels between two endpoints (blkif.md §3). */
@Timeout(60)
class SimEventChannelsTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    private static final Duration QUIET = Duration.ofMillis(200);
    @TempDir
    Path root;
    private SimLayout layout;
    private SimEventChannels guest;
    private SimEventChannels backend;

    @BeforeEach
    void setUp() throws IOException {
        layout = new SimLayout(root);
        guest = SimEventChannels.open(layout, 3);
        backend = SimEventChannels.open(layout, 0);
    }

    @AfterEach
    void tearDown() throws IOException {
        guest.close();
        backend.close();
    }

    private static int one(SimEventChannels ec) throws InterruptedException, IOException {
        int[] got = ec.awaitPending(WAIT);
        assertThat(got).as("one pending port within %s", WAIT).hasSize(1);
        return got[0];
    }

    @Test
    void notifyWorksFromEitherEnd() throws Exception {
        int guestPort = guest.bindUnbound(0);
        int backendPort = backend.bindInterdomain(3, guestPort);
        guest.notify(guestPort);
        assertThat(one(backend)).isEqualTo(backendPort);
        backend.unmask(backendPort);
        backend.notify(backendPort);
        assertThat(one(guest)).isEqualTo(guestPort);
    }

    @Test
    void portStaysMaskedUntilUnmaskAndTheEventInBetweenIsKept() throws Exception {
        int guestPort = guest.bindUnbound(0);
        int backendPort = backend.bindInterdomain(3, guestPort);
        guest.notify(guestPort);
        assertThat(one(backend)).isEqualTo(backendPort);
        guest.notify(guestPort);
        guest.notify(guestPort);
        // Round trip through the other direction: once the guest sees it, the two notifies above have arrived.
        backend.notify(backendPort);
        one(guest);
        assertThat(backend.awaitPending(QUIET)).isEmpty();
        backend.unmask(backendPort);
        assertThat(one(backend)).isEqualTo(backendPort);
    }

    @Test
    void oneInstanceServesManyPorts() throws Exception {
        int g1 = guest.bindUnbound(0);
        int g2 = guest.bindUnbound(0);
        int b1 = backend.bindInterdomain(3, g1);
        int b2 = backend.bindInterdomain(3, g2);
        assertThat(b1).isNotEqualTo(b2);
        guest.notify(g2);
        assertThat(one(backend)).isEqualTo(b2);
        guest.notify(g1);
        assertThat(one(backend)).isEqualTo(b1);
    }

    @Test
    void readUnmaskThenCheckNeverMissesTheLastNotification() throws Exception {
        int guestPort = guest.bindUnbound(0);
        int backendPort = backend.bindInterdomain(3, guestPort);
        java.util.concurrent.atomic.AtomicInteger produced = new java.util.concurrent.atomic.AtomicInteger();
        int total = 2000;
        Thread producer = new Thread(() -> {
            try {
                for (int i = 0; i < total; i++) {
                    produced.incrementAndGet();
                    guest.notify(guestPort);
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        producer.start();
        // blkif.md §3/§9: read the port, unmask it, then look at the shared state.
        int seen = 0;
        while (seen < total) {
            int[] ports = backend.awaitPending(WAIT);
            assertThat(ports).as("an event while %d of %d were seen", seen, total).isNotEmpty();
            backend.unmask(ports);
            seen = produced.get();
        }
        producer.join();
        assertThat(seen).isEqualTo(total);
    }

    @Test
    void bindingAPortAllocatedForAnotherDomainIsRefused() throws IOException {
        int forDom7 = guest.bindUnbound(7);
        assertThatThrownBy(() -> backend.bindInterdomain(3, forDom7)).hasMessageContaining("EINVAL")
                .hasMessageContaining("allocated for domain 7");
        assertThatThrownBy(() -> backend.bindInterdomain(3, 999)).hasMessageContaining("no such port");
    }

    @Test
    void portsNotBoundByThisInstanceAreEnotconn() throws IOException {
        int guestPort = guest.bindUnbound(0);
        assertThatThrownBy(() -> backend.notify(guestPort)).hasMessageContaining("ENOTCONN");
        assertThatThrownBy(() -> backend.unbind(guestPort)).hasMessageContaining("ENOTCONN");
    }

    @Test
    void unbindLeavesThePeerUnboundAndRebindable() throws Exception {
        int guestPort = guest.bindUnbound(0);
        int first = backend.bindInterdomain(3, guestPort);
        backend.unbind(first);
        guest.notify(guestPort); // goes nowhere, as in Xen
        int second = backend.bindInterdomain(3, guestPort);
        guest.notify(guestPort);
        assertThat(one(backend)).isEqualTo(second);
    }
}
