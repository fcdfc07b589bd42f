package org.spdksr.datapath.device;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * Buffers a device does I/O on in place, offered to callers that fill the data themselves, so the
 * data is copied once: blkifd grant-copies guest pages straight into them (issue 7). Any other
 * buffer handed to such a device may cost it a copy of its own. Thread-safe.
 */
public interface IoBuffers {

    /**
     * A buffer of {@code bytes} (at most {@link #maxBytes()}; position 0, limit {@code bytes}), as
     * soon as there is room. While other buffers are out the future waits rather than fails: they
     * come back as their I/O completes. It fails only when the device closes.
     */
    CompletableFuture<ByteBuffer> take(int bytes);

    /** Gives back a buffer from {@link #take}, exactly once, after the I/O on it completed. */
    void give(ByteBuffer buffer);

    /**
     * The largest {@link #take}: a request this big always fits once enough buffers came back,
     * whereas a bigger one might never fit, so callers use ordinary buffers for it.
     */
    int maxBytes();
}
