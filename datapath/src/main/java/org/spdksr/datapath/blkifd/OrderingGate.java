package org.spdksr.datapath.blkifd;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * Keeps WRITE_BARRIER's promise (blkif.md §1.7): every request issued before a barrier completes
 * before it runs, and none issued after it starts until it completes. Everything else runs in
 * parallel. Used only by the queue's worker thread.
 */
final class OrderingGate {
    private static final int PRUNE_THRESHOLD = 64;

    private CompletableFuture<?> lastBarrier = CompletableFuture.completedFuture(null);
    private final List<CompletableFuture<?>> sinceBarrier = new ArrayList<>();

    <T> CompletableFuture<T> submit(Supplier<CompletableFuture<T>> operation) {
        CompletableFuture<T> result = afterQuietly(lastBarrier).thenCompose(x -> operation.get());
        if (sinceBarrier.size() >= PRUNE_THRESHOLD) {
            sinceBarrier.removeIf(CompletableFuture::isDone);
        }
        sinceBarrier.add(result);
        return result;
    }

    <T> CompletableFuture<T> submitBarrier(Supplier<CompletableFuture<T>> operation) {
        List<CompletableFuture<?>> before = new ArrayList<>(sinceBarrier);
        before.add(lastBarrier);
        CompletableFuture<Void> all = CompletableFuture.allOf(
                before.stream().map(OrderingGate::afterQuietly).toArray(CompletableFuture[]::new));
        CompletableFuture<T> result = all.thenCompose(x -> operation.get());
        sinceBarrier.clear();
        lastBarrier = result;
        return result;
    }

    /** Ordering only needs completion; a failed request must not fail the ones after it. */
    private static CompletableFuture<Void> afterQuietly(CompletableFuture<?> future) {
        return future.handle((v, e) -> null);
    }
}
