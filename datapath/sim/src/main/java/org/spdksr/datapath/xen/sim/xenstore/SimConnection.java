package org.spdksr.datapath.xen.sim.xenstore;

import java.io.IOException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.xen.xenstore.XsMessage;
import org.spdksr.datapath.xen.xenstore.XsWire;

/**
 * One client connection of the simulated server, acting for a fixed domain. Outgoing messages go
 * through a queue and a writer thread, so firing a watch never blocks the store on a slow client.
 */
final class SimConnection {
    private static final Logger LOG = LoggerFactory.getLogger(SimConnection.class);

    private final int domid;
    private final SocketChannel channel;
    private final SimStore store;
    private final java.util.function.Consumer<SimConnection> onClose;
    private final BlockingQueue<XsMessage> outgoing = new LinkedBlockingQueue<>();
    /** Identity marker that stops the writer; never sent. */
    private final XsMessage stop = new XsMessage(0xffff, 0, 0, new byte[0]);
    private volatile boolean closed;

    SimConnection(int domid, SocketChannel channel, SimStore store,
            java.util.function.Consumer<SimConnection> onClose) {
        this.domid = domid;
        this.channel = channel;
        this.store = store;
        this.onClose = onClose;
    }

    int domid() {
        return domid;
    }

    void start() {
        Thread r = new Thread(this::readLoop, "sim-xenstored-conn-d" + domid);
        Thread w = new Thread(this::writeLoop, "sim-xenstored-out-d" + domid);
        r.setDaemon(true);
        w.setDaemon(true);
        w.start();
        r.start();
    }

    void send(XsMessage m) {
        if (!closed) {
            outgoing.add(m);
        }
    }

    private void readLoop() {
        try {
            XsMessage m;
            while ((m = XsWire.read(channel)) != null) {
                store.handle(this, m);
            }
        } catch (IOException e) {
            // blkif.md §4.1: an oversized message kills the connection, as xenstored does.
            if (!closed) {
                LOG.debug("simulated xenstore connection of domain {} ends: {}", domid, e.getMessage());
            }
        } finally {
            close();
        }
    }

    private void writeLoop() {
        try {
            while (true) {
                XsMessage m = outgoing.take();
                if (m == stop) {
                    return;
                }
                XsWire.write(channel, m);
            }
        } catch (IOException e) {
            close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    void close() {
        if (closed) {
            return;
        }
        closed = true;
        store.disconnect(this);
        onClose.accept(this);
        outgoing.add(stop);
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("closing simulated xenstore connection: {}", e.getMessage());
        }
    }
}
