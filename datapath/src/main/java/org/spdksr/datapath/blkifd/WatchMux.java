package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.spdksr.datapath.xen.xenstore.WatchEvent;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreWatch;

/** Several xenstore watches read as one stream of events, for a handshake that follows two trees. */
final class WatchMux implements AutoCloseable {
    private final LinkedBlockingQueue<Object> events = new LinkedBlockingQueue<>();
    private final List<XenstoreWatch> watches = new ArrayList<>();
    private final List<Thread> readers = new ArrayList<>();
    private volatile boolean open = true;

    /** Marks a watch whose connection failed: no more events will come. */
    private record Lost(IOException cause) {}

    WatchMux(Xenstore xenstore, List<String> paths, String name) throws IOException {
        try {
            for (String path : paths) {
                XenstoreWatch watch = xenstore.watch(path);
                watches.add(watch);
                Thread reader = new Thread(() -> pump(watch), name + " watch " + path);
                reader.setDaemon(true);
                readers.add(reader);
            }
        } catch (IOException e) {
            close();
            throw e;
        }
        readers.forEach(Thread::start);
    }

    private void pump(XenstoreWatch watch) {
        while (open) {
            try {
                watch.next(Duration.ofMillis(500)).ifPresent(events::add);
            } catch (IOException e) {
                if (open) {
                    events.add(new Lost(e));
                }
                return;
            } catch (InterruptedException e) {
                return;
            }
        }
    }

    /** The next event, or empty after {@code timeout}; throws when xenstore went away. */
    Optional<WatchEvent> next(Duration timeout) throws IOException, InterruptedException {
        Object event = events.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        if (event instanceof Lost lost) {
            throw new IOException("xenstore connection lost", lost.cause());
        }
        return Optional.ofNullable((WatchEvent) event);
    }

    /** Drops events already queued (they would only repeat a state already being handled). */
    void drain() {
        List<Object> drained = new ArrayList<>();
        events.drainTo(drained);
        for (Object o : drained) {
            if (o instanceof Lost) {
                events.add(o);
            }
        }
    }

    @Override
    public void close() {
        open = false;
        for (XenstoreWatch watch : watches) {
            try {
                watch.close();
            } catch (IOException e) {
                // the connection is going away anyway
            }
        }
        readers.forEach(Thread::interrupt);
    }
}
