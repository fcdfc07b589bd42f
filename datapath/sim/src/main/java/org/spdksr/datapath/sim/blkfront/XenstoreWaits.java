package org.spdksr.datapath.sim.blkfront;

import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreWatch;

/**
 * Waiting for a xenstore node to reach a value, the way both ends of the handshake do: set a
 * watch, then re-read the node at every event. Watch events may collapse or be spurious
 * (blkif.md §4.2, §5.6), so the decision is always taken on a fresh read, and a bounded wait
 * between events catches anything a watch would miss.
 */
public final class XenstoreWaits {
    private static final Duration REREAD = Duration.ofMillis(500);

    private XenstoreWaits() {
    }

    /** A condition re-evaluated on fresh reads; it may read several nodes. */
    @FunctionalInterface
    public interface Condition {
        boolean holds() throws IOException;
    }

    /**
     * Waits until {@code until} accepts the value of {@code path} (empty when the node is missing).
     *
     * @return the accepted value
     * @throws TimeoutException naming the path, the expectation and the last value seen
     */
    public static Optional<String> await(Xenstore xs, String path, Predicate<Optional<String>> until,
            String expectation, Duration timeout) throws IOException, InterruptedException, TimeoutException {
        java.util.concurrent.atomic.AtomicReference<Optional<String>> last = new java.util.concurrent.atomic.AtomicReference<>(Optional.empty());
        awaitCondition(xs, path, () -> {
            last.set(xs.readIfExists(path));
            return until.test(last.get());
        }, () -> path + " did not become " + expectation + " within " + timeout + "; last value "
                + last.get().map(s -> "'" + s + "'").orElse("(missing)"), timeout);
        return last.get();
    }

    /**
     * Waits until {@code condition} holds, re-checking it at every event of a watch on
     * {@code watchPath} and at least every half second.
     */
    public static void awaitCondition(Xenstore xs, String watchPath, Condition condition,
            java.util.function.Supplier<String> failure, Duration timeout)
            throws IOException, InterruptedException, TimeoutException {
        Instant deadline = Instant.now().plus(timeout);
        try (XenstoreWatch w = xs.watch(watchPath)) {
            while (!condition.holds()) {
                Duration left = Duration.between(Instant.now(), deadline);
                if (left.isNegative() || left.isZero()) {
                    throw new TimeoutException(failure.get());
                }
                w.next(left.compareTo(REREAD) < 0 ? left : REREAD);
            }
        }
    }

    /** Waits until {@code path} holds exactly {@code value}. */
    public static void awaitValue(Xenstore xs, String path, String value, Duration timeout)
            throws IOException, InterruptedException, TimeoutException {
        await(xs, path, v -> v.isPresent() && v.get().equals(value), "'" + value + "'", timeout);
    }

    /** Waits until {@code path} no longer exists. */
    public static void awaitGone(Xenstore xs, String path, Duration timeout)
            throws IOException, InterruptedException, TimeoutException {
        await(xs, path, Optional::isEmpty, "absent", timeout);
    }
}
