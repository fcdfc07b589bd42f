package org.spdksr.datapath.vhost;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/** Counts a device's operations until they complete, so that closing it can wait for them first. */
final class OperationTracker {
    private final AtomicInteger active = new AtomicInteger();

    <T> CompletableFuture<T> track(CompletableFuture<T> f) {
        active.incrementAndGet();
        f.whenComplete((v, e) -> {
            if (active.decrementAndGet() == 0) {
                synchronized (active) {
                    active.notifyAll();
                }
            }
        });
        return f;
    }

    /** Returns when nothing is in flight or at {@code deadlineNanos} (a {@link System#nanoTime} value). */
    void awaitIdle(long deadlineNanos) {
        synchronized (active) {
            while (active.get() > 0 && System.nanoTime() - deadlineNanos < 0) {
                try {
                    active.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }
}
