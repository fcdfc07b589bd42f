package org.spdksr.datapath.blkifd;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.spdksr.datapath.device.BlockDevice;

/**
 * Test fixture: the real file device, with reads (and optionally writes) held back for a while so
 * a test can act while I/O is in flight (revoke a grant, close the frontend). Not a mock: every
 * operation still runs on the file device.
 */
final class SlowDevice implements BlockDevice {
    private final BlockDevice delegate;
    private volatile long readDelayMs;
    private volatile long writeDelayMs;
    final AtomicLong reads = new AtomicLong();
    final AtomicLong writes = new AtomicLong();
    final AtomicLong discards = new AtomicLong();
    final AtomicLong flushes = new AtomicLong();
    /** While above 0, {@link #sizeBytes} throws (and counts down): an unchecked failure inside the handshake. */
    final AtomicInteger sizeFailures = new AtomicInteger();
    /** Writes started and not yet completed, and the most there ever were at once. */
    final AtomicInteger writesInFlight = new AtomicInteger();
    final AtomicInteger peakWritesInFlight = new AtomicInteger();

    SlowDevice(BlockDevice delegate) {
        this.delegate = delegate;
    }

    void readDelay(long ms) {
        readDelayMs = ms;
    }

    void writeDelay(long ms) {
        writeDelayMs = ms;
    }

    @Override
    public long sizeBytes() {
        if (sizeFailures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
            throw new IllegalStateException("injected failure: the device cannot say its size");
        }
        return delegate.sizeBytes();
    }

    @Override
    public int logicalBlockSize() {
        return delegate.logicalBlockSize();
    }

    @Override
    public int queueDepth() {
        return delegate.queueDepth();
    }

    @Override
    public boolean supportsDiscard() {
        return delegate.supportsDiscard();
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        reads.incrementAndGet();
        CompletableFuture<Void> held = gate;
        if (held != null) {
            return answered(held.thenCompose(x -> delegate.read(offset, dst)));
        }
        long d = readDelayMs;
        if (d <= 0) {
            return delegate.read(offset, dst);
        }
        return CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(d, TimeUnit.MILLISECONDS))
                .thenCompose(x -> delegate.read(offset, dst));
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src) {
        writes.incrementAndGet();
        CompletableFuture<Void> held = gate;
        if (held != null) {
            return answered(held.thenCompose(x -> delegate.write(offset, src)));
        }
        peakWritesInFlight.accumulateAndGet(writesInFlight.incrementAndGet(), Math::max);
        long d = writeDelayMs;
        CompletableFuture<Void> done = d <= 0 ? delegate.write(offset, src)
                : CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(d, TimeUnit.MILLISECONDS))
                        .thenCompose(x -> delegate.write(offset, src));
        // Counted down before the caller sees the completion, so a count read after it is exact.
        return done.whenComplete((v, e) -> writesInFlight.decrementAndGet());
    }

    // ---- holding I/O until the test lets it go ---------------------------------------------------

    private volatile CompletableFuture<Void> gate;
    /** Held operations whose caller's completion code has run (see {@link #answered}). */
    final AtomicLong heldAnswered = new AtomicLong();

    /** Reads and writes from now on wait in the device until {@link #release()}. */
    void hold() {
        gate = new CompletableFuture<>();
    }

    /** Lets every held operation run; later ones run at once. */
    void release() {
        CompletableFuture<Void> g = gate;
        gate = null;
        if (g != null) {
            g.complete(null);
        }
    }

    /**
     * The future handed to the caller, completed by this class so that it counts the operation only
     * after the caller's completion code (its dependent stages, which run inside complete) has run.
     */
    private CompletableFuture<Void> answered(CompletableFuture<Void> op) {
        CompletableFuture<Void> toCaller = new CompletableFuture<>();
        op.whenComplete((v, e) -> {
            if (e == null) {
                toCaller.complete(v);
            } else {
                toCaller.completeExceptionally(e);
            }
            heldAnswered.incrementAndGet();
        });
        return toCaller;
    }

    @Override
    public CompletableFuture<Void> flush() {
        flushes.incrementAndGet();
        return delegate.flush();
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        discards.incrementAndGet();
        return delegate.discard(offset, length);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
