package org.spdksr.datapath.device;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A bounded pool of I/O threads for one device: at most {@code depth} blocking system calls run at
 * once, further requests wait in FIFO order. Idle threads exit after a while so that a mostly idle
 * disk does not pin {@code depth} threads. After {@link #shutdownAndWait()} nothing new starts and
 * every queued task has finished, so the caller may release the file descriptor.
 */
final class IoWorkers {
    /** One blocking step of I/O; may throw whatever the device translates. */
    @FunctionalInterface
    interface IoTask {
        void run() throws Exception;
    }

    /** Turns a failure of an {@link IoTask} into the exception the future completes with. */
    @FunctionalInterface
    interface Failure {
        Throwable translate(Throwable t);
    }

    private final String name;
    private final ThreadPoolExecutor executor;

    IoWorkers(String name, int depth) {
        this.name = name;
        AtomicInteger n = new AtomicInteger();
        this.executor = new ThreadPoolExecutor(depth, depth, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, name + "-io-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        executor.allowCoreThreadTimeOut(true);
    }

    CompletableFuture<Void> submit(IoTask task, Failure failure) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        try {
            executor.execute(() -> {
                try {
                    task.run();
                    done.complete(null);
                } catch (Throwable t) {
                    done.completeExceptionally(failure.translate(t));
                }
            });
        } catch (RejectedExecutionException e) {
            done.completeExceptionally(new BlockDeviceException(BlockDeviceException.Reason.CLOSED,
                    name + " is closed; reopen the device before submitting I/O"));
        }
        return done;
    }

    /** Refuses new work, then waits (uninterruptibly: the descriptor must outlive its users) for queued work. */
    void shutdownAndWait() {
        executor.shutdown();
        boolean interrupted = false;
        while (true) {
            try {
                if (executor.awaitTermination(1, TimeUnit.SECONDS)) {
                    break;
                }
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
