package org.spdksr.datapath.xen.evtchn;

import java.io.IOException;
import java.time.Duration;

/**
 * Event channels as a backend uses them (blkif.md §3): one instance (one evtchn fd) serves many
 * ports. A port that fired is masked until {@link #unmask} is called, so it is reported at most once
 * until then; an event arriving while masked is reported again after the unmask, never lost.
 */
public interface EventChannels extends AutoCloseable {

    /** Binds to {@code remotePort} of {@code remoteDomid} (the frontend's port); returns the local port. */
    int bindInterdomain(int remoteDomid, int remotePort) throws IOException;

    void unbind(int localPort) throws IOException;

    /** Signals the other end of a port this instance bound. */
    void notify(int localPort) throws IOException;

    /**
     * Local ports with a pending event, each now masked; empty when none arrived within
     * {@code timeout}. After an overflow of the pending queue every bound port is returned, so the
     * caller rescans all its rings (blkif.md §3, EFBIG).
     */
    int[] awaitPending(Duration timeout) throws IOException, InterruptedException;

    /**
     * Re-enables the ports. Unmask before the final ring check, or an event can be lost (blkif.md §3).
     */
    void unmask(int... localPorts) throws IOException;

    @Override
    void close() throws IOException;
}
