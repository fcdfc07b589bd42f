package org.spdksr.datapath.blkifd;

/**
 * How many bytes of request buffers one blkifd (one domain, all its disks and queues) may hold:
 * buffers lent to requests and the free ones its {@link BufferPool} keeps for reuse both count.
 * Pure accounting, guarded by the pool's lock (not thread-safe on its own).
 *
 * <p>A reservation that does not fit is refused, except when nothing is held at all: one request
 * larger than the whole budget is still served (alone), so no legal request can wait forever. The
 * service keeps the limit at least one largest request, so the held bytes never pass
 * {@link #limitBytes()}.
 */
final class BufferBudget {
    private final long limitBytes;
    private long heldBytes;
    private long peakBytes;

    BufferBudget(long limitBytes) {
        if (limitBytes <= 0) {
            throw new IllegalArgumentException("buffer budget " + limitBytes + " bytes must be positive");
        }
        this.limitBytes = limitBytes;
    }

    long limitBytes() {
        return limitBytes;
    }

    long heldBytes() {
        return heldBytes;
    }

    long peakBytes() {
        return peakBytes;
    }

    /** Whether {@code bytes} more may be held now; if so they are counted as held. */
    boolean tryReserve(long bytes) {
        if (heldBytes > 0 && heldBytes + bytes > limitBytes) {
            return false;
        }
        heldBytes += bytes;
        peakBytes = Math.max(peakBytes, heldBytes);
        return true;
    }

    void release(long bytes) {
        if (bytes > heldBytes) {
            throw new IllegalStateException("releasing " + bytes + " buffer bytes of " + heldBytes
                    + " held; this is a bug in blkifd's buffer accounting");
        }
        heldBytes -= bytes;
    }
}
