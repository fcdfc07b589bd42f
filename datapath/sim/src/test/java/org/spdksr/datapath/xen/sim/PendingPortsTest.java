package org.spdksr.datapath.xen.sim.evtchn;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** The mask/pending rules of blkif.md §3 as the simulation implements them. */
class PendingPortsTest {
    private static final Duration NOW = Duration.ZERO;

    @Test
    void aPortIsDeliveredOnceUntilUnmaskedAndAMaskedEventIsNotLost() throws Exception {
        PendingPorts p = new PendingPorts();
        p.bind(3);
        p.signal(3);
        p.signal(3);
        assertThat(p.await(NOW)).containsExactly(3);
        p.signal(3);
        assertThat(p.await(NOW)).isEmpty();
        p.unmask(3);
        assertThat(p.await(NOW)).containsExactly(3);
        p.unmask(3);
        assertThat(p.await(NOW)).isEmpty();
    }

    @Test
    void eventsForUnboundPortsAreDropped() throws Exception {
        PendingPorts p = new PendingPorts();
        p.signal(9);
        assertThat(p.await(NOW)).isEmpty();
    }

    /** Operations: signal port (0..2), unmask port (3..5), take pending (6). */
    @Provide
    Arbitrary<List<Integer>> ops() {
        return Arbitraries.integers().between(0, 6).list().ofMaxSize(60);
    }

    @Property(tries = 300)
    void matchesTheModelOfOnePendingBitAndOneMaskPerPort(@ForAll("ops") List<Integer> ops) throws Exception {
        PendingPorts p = new PendingPorts();
        Map<Integer, Boolean> masked = new HashMap<>();
        Map<Integer, Boolean> pendingBit = new HashMap<>();
        // A list, not a set: a port unmasked before it was read can be queued again, as in the driver's ring.
        List<Integer> queued = new ArrayList<>();
        for (int port = 0; port < 3; port++) {
            p.bind(port);
            masked.put(port, false);
            pendingBit.put(port, false);
        }
        for (int op : ops) {
            if (op < 3) {
                if (masked.get(op)) {
                    pendingBit.put(op, true);
                } else {
                    masked.put(op, true);
                    queued.add(op);
                }
                p.signal(op);
            } else if (op < 6) {
                int port = op - 3;
                masked.put(port, false);
                if (pendingBit.get(port)) {
                    pendingBit.put(port, false);
                    masked.put(port, true);
                    queued.add(port);
                }
                p.unmask(port);
            } else {
                int[] got = p.await(NOW);
                assertThat(Arrays.stream(got).boxed().toList()).containsExactlyInAnyOrderElementsOf(queued);
                queued.clear();
            }
        }
    }
}
