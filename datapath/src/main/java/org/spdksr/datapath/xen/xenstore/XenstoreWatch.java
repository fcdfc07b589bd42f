package org.spdksr.datapath.xen.xenstore;

import java.io.IOException;
import java.time.Duration;
import java.util.Optional;

/** A registered watch and the queue of its events. */
public interface XenstoreWatch extends AutoCloseable {

    String path();

    String token();

    /**
     * The next event, or empty when none arrived within {@code timeout}.
     *
     * @throws IOException when the connection is gone, so no event can come any more
     */
    Optional<WatchEvent> next(Duration timeout) throws IOException, InterruptedException;

    /** Unregisters the watch; events still queued are dropped. */
    @Override
    void close() throws IOException;
}
