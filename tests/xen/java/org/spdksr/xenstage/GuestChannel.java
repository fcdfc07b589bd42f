package org.spdksr.xenstage;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;
import org.spdksr.datapath.xen.xenstore.Xenstore;

/**
 * The guest's test script and this stage talk through two nodes in the guest's own
 * {@code data/} directory, which the guest may write: the guest writes {@code data/step}
 * ("NAME [ARGS]"), this side answers in {@code data/ack} ("NAME ok [PAYLOAD]" or
 * "NAME fail REASON"). Names carry the round ("1:plug"), so a stale value is never taken for a
 * new one.
 */
final class GuestChannel {
    private static final Duration POLL = Duration.ofMillis(100);

    private final Xenstore xs;
    private final String step;
    private final String ack;

    GuestChannel(Xenstore xs, int domid) {
        this.xs = xs;
        this.step = "/local/domain/" + domid + "/data/step";
        this.ack = "/local/domain/" + domid + "/data/ack";
    }

    /**
     * Waits until the guest announces {@code name}; returns its arguments (possibly empty).
     *
     * @throws StageFailure when the guest reports a failure instead, or nothing comes in time
     */
    String await(String name, Duration timeout) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            Optional<String> value = xs.readIfExists(step);
            if (value.isPresent()) {
                String v = value.get().trim();
                if (v.equals(name) || v.startsWith(name + " ")) {
                    Stage.log("guest step: " + v);
                    return v.substring(name.length()).trim();
                }
                if (v.contains(" fail") || v.startsWith("fail")) {
                    throw new StageFailure("the guest failed while dom0 waited for '" + name + "': " + v);
                }
            }
            Thread.sleep(POLL.toMillis());
        }
        throw new StageFailure("the guest did not reach step '" + name + "' within " + timeout + " (last step: "
                + xs.readIfExists(step).orElse("<none>") + ")");
    }

    void ok(String name, String payload) throws IOException {
        xs.write(ack, (name + " ok " + payload).trim());
    }

    void fail(String name, String reason) throws IOException {
        xs.write(ack, name + " fail " + reason);
    }
}
