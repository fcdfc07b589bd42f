package org.spdksr.datapath.sim.blkfront;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.xen.sim.SimDomain;

/**
 * The guest kernel services its frontends share: the domain, its page allocator and one event
 * dispatcher. The dispatcher reads pending ports, unmasks each, then runs its handler, which
 * processes its ring with the final check (the order of blkif.md §3, so no event is lost).
 */
public final class SimGuest implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SimGuest.class);

    private final SimDomain domain;
    private final GuestPages pages;
    private final Map<Integer, Runnable> handlers = new ConcurrentHashMap<>();
    private final Thread dispatcher;
    private volatile boolean closed;

    /** @param firstFrame the lowest frame the allocator may hand out */
    public SimGuest(SimDomain domain, int firstFrame) {
        this.domain = domain;
        this.pages = new GuestPages(domain.memory(), firstFrame);
        this.dispatcher = new Thread(this::dispatch, "sim-guest-events-d" + domain.domid());
        dispatcher.setDaemon(true);
        dispatcher.start();
    }

    public SimDomain domain() {
        return domain;
    }

    public GuestPages pages() {
        return pages;
    }

    /** Allocates an unbound port for {@code remoteDomid} and runs {@code handler} at each event on it. */
    public int bindUnbound(int remoteDomid, Runnable handler) throws IOException {
        int port = domain.eventChannels().bindUnbound(remoteDomid);
        handlers.put(port, handler);
        return port;
    }

    public void unbind(int port) {
        handlers.remove(port);
        try {
            domain.eventChannels().unbind(port);
        } catch (IOException e) {
            LOG.debug("unbinding port {} of domain {}: {}", port, domain.domid(), e.getMessage());
        }
    }

    public void notify(int port) throws IOException {
        domain.eventChannels().notify(port);
    }

    private void dispatch() {
        while (!closed) {
            try {
                for (int port : domain.eventChannels().awaitPending(Duration.ofMillis(200))) {
                    domain.eventChannels().unmask(port);
                    Runnable h = handlers.get(port);
                    if (h != null) {
                        h.run();
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("event handler of domain {} failed", domain.domid(), e);
            }
        }
    }

    /** Stops the dispatcher; the domain stays open (its owner closes it). */
    @Override
    public void close() {
        closed = true;
        dispatcher.interrupt();
    }
}
