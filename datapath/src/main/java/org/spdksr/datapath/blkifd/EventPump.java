package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.xen.evtchn.EventChannels;

/**
 * Reads pending ports from the event-channel device and wakes the queue that owns each. Ports are
 * unmasked before the queue runs: the queue's final ring check then catches anything that arrives
 * in between, and a later event is delivered again (blkif.md §1.8, §3).
 */
final class EventPump implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(EventPump.class);

    private final EventChannels events;
    private final Map<Integer, Runnable> listeners = new ConcurrentHashMap<>();
    private final Thread thread;
    private volatile boolean running = true;

    EventPump(EventChannels events, String name) {
        this.events = events;
        this.thread = new Thread(this::run, name);
        this.thread.setDaemon(true);
        this.thread.start();
    }

    EventChannels events() {
        return events;
    }

    void listen(int localPort, Runnable onEvent) {
        listeners.put(localPort, onEvent);
    }

    void forget(int localPort) {
        listeners.remove(localPort);
    }

    private void run() {
        while (running) {
            try {
                int[] ports = events.awaitPending(Duration.ofMillis(200));
                if (ports.length == 0) {
                    continue;
                }
                events.unmask(ports);
                for (int port : ports) {
                    Runnable listener = listeners.get(port);
                    if (listener != null) {
                        listener.run();
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            } catch (IOException | RuntimeException e) {
                if (running) {
                    LOG.error("event channel pump: {}", e.toString());
                    sleepQuietly();
                }
            }
        }
    }

    private static void sleepQuietly() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        running = false;
        thread.interrupt();
        try {
            thread.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
