package org.spdksr.datapath.blkifd;

import java.nio.ByteBuffer;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.device.IoBuffers;

/**
 * Where one disk's request buffers come from. A device that offers buffers of its own
 * ({@link BlockDevice#ioBuffers()}: vhost-user-blk's shared region) gets guest data grant-copied
 * straight into them, one copy in all (issue 7); requests too big for it, and every other device,
 * use the pooled direct buffers. When the device's buffers are all out, a request waits for one:
 * they belong to requests in flight, which complete and give them back. When the pool's budget is
 * spent, the request is not taken at all: its queue stops consuming until buffers come back.
 */
final class RequestBuffers {
    private final Optional<IoBuffers> device;
    private final BufferPool pool;

    RequestBuffers(BlockDevice device, BufferPool pool) {
        this.device = device.ioBuffers();
        this.pool = pool;
    }

    /**
     * A buffer for a request of {@code bytes}: the device's (the future waits while they are all
     * out, and fails only if the device closed meanwhile), else one from the pool; empty when the
     * pool's budget is spent, and then {@code onReturn} runs once buffers came back (see
     * {@link BufferPool#tryTake}).
     */
    Optional<CompletableFuture<Lease>> tryTake(int bytes, Runnable onReturn) {
        if (device.isPresent() && bytes <= device.get().maxBytes()) {
            IoBuffers source = device.get();
            return Optional.of(source.take(bytes).thenApply(b -> new Lease(b, source::give)));
        }
        return pool.tryTake(bytes, onReturn).map(b -> CompletableFuture.completedFuture(new Lease(b, pool::give)));
    }

    /** The caller no longer waits for pool buffers (its queue stopped). */
    void withdraw(Runnable onReturn) {
        pool.withdraw(onReturn);
    }

    /**
     * One request's buffer, to be released exactly once when the request is done with it. A
     * second release is refused: giving a buffer back twice would hand it to two requests.
     */
    static final class Lease {
        private final ByteBuffer buffer;
        private final Consumer<ByteBuffer> giveBack;
        private final AtomicBoolean released = new AtomicBoolean();

        Lease(ByteBuffer buffer, Consumer<ByteBuffer> giveBack) {
            this.buffer = buffer;
            this.giveBack = giveBack;
        }

        ByteBuffer buffer() {
            return buffer;
        }

        void release() {
            if (!released.compareAndSet(false, true)) {
                throw new IllegalStateException("a request buffer of " + buffer.capacity()
                        + " bytes was released twice; this is a bug in blkifd's request handling");
            }
            giveBack.accept(buffer);
        }
    }
}
