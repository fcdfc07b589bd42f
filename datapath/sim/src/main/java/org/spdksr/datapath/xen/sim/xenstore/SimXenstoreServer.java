package org.spdksr.datapath.xen.sim.xenstore;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A xenstore server speaking the wire protocol of blkif.md §4 on unix sockets, for running the
 * backend without Xen.
 *
 * <p>How a connection states its domain: by the socket it connects to. {@code <dir>/socket}
 * serves domain 0 (privileged), which is also what {@code xenstore-*} tools reach through
 * XENSTORED_PATH; {@link #socketFor(int)} opens {@code <dir>/socket.d<domid>} for any other domain.
 * The protocol on every socket is unchanged, so the same client works against a real xenstored.
 */
public final class SimXenstoreServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SimXenstoreServer.class);

    private final Path dir;
    private final SimStore store = new SimStore();
    private final Map<Integer, Listener> listeners = new ConcurrentHashMap<>();
    private final List<SimConnection> connections = new ArrayList<>();
    private volatile boolean closed;

    private record Listener(Path path, ServerSocketChannel channel) {
    }

    private SimXenstoreServer(Path dir) {
        this.dir = dir;
    }

    /** Starts a server whose sockets live in {@code dir} (created if missing). */
    public static SimXenstoreServer start(Path dir) throws IOException {
        Files.createDirectories(dir);
        SimXenstoreServer s = new SimXenstoreServer(dir);
        s.socketFor(0);
        return s;
    }

    /** The domain-0 socket: point XENSTORED_PATH here. */
    public Path socket() {
        return dir.resolve("socket");
    }

    /** The socket whose connections act for {@code domid}; opened on first use. */
    public synchronized Path socketFor(int domid) throws IOException {
        if (closed) {
            throw new IOException("simulated xenstore server in " + dir + " is closed");
        }
        Listener l = listeners.get(domid);
        if (l != null) {
            return l.path();
        }
        Path p = domid == 0 ? socket() : dir.resolve("socket.d" + domid);
        Files.deleteIfExists(p);
        ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        ch.bind(UnixDomainSocketAddress.of(p));
        Listener created = new Listener(p, ch);
        listeners.put(domid, created);
        Thread t = new Thread(() -> acceptLoop(domid, created), "sim-xenstored-accept-d" + domid);
        t.setDaemon(true);
        t.start();
        return p;
    }

    /**
     * Calls {@code observer} with every change committed from now on, before its writer is answered;
     * closing the returned handle stops that.
     */
    public AutoCloseable observe(SimNodeObserver observer) {
        store.observe(observer);
        return () -> store.forget(observer);
    }

    /** Marks a domain introduced and fires {@code @introduceDomain} watches, as the toolstack's INTRODUCE does. */
    public void introduceDomain(int domid) {
        store.introduce(domid);
    }

    /** Fires {@code @releaseDomain} watches. */
    public void releaseDomain(int domid) {
        store.release(domid);
    }

    private void acceptLoop(int domid, Listener l) {
        try {
            while (!closed) {
                SocketChannel c = l.channel().accept();
                SimConnection conn = new SimConnection(domid, c, store, this::forget);
                synchronized (this) {
                    if (closed) {
                        c.close();
                        return;
                    }
                    connections.add(conn);
                }
                conn.start();
            }
        } catch (IOException e) {
            if (!closed) {
                LOG.warn("simulated xenstore server stopped accepting on {}: {}", l.path(), e.getMessage());
            }
        }
    }

    private synchronized void forget(SimConnection conn) {
        connections.remove(conn);
    }

    @Override
    public void close() throws IOException {
        List<SimConnection> toClose;
        synchronized (this) {
            if (closed) {
                return;
            }
            closed = true;
            toClose = new ArrayList<>(connections);
        }
        for (Listener l : listeners.values()) {
            l.channel().close();
            Files.deleteIfExists(l.path());
        }
        toClose.forEach(SimConnection::close);
    }
}
