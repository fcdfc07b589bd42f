package org.spdksr.datapath.xen.sim.evtchn;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.xen.evtchn.EventChannels;
import org.spdksr.datapath.xen.sim.SimLayout;

/**
 * Event channels between processes of the simulation. Each instance (the counterpart of one evtchn
 * fd) listens on its own unix socket; a notify looks up the peer port in the shared
 * {@link SimPortRegistry} and sends it the 4-byte peer port number. Delivery, masking and unmasking
 * follow blkif.md §3 ({@link PendingPorts}).
 */
public final class SimEventChannels implements EventChannels {
    private static final Logger LOG = LoggerFactory.getLogger(SimEventChannels.class);

    private static final long SELF = ProcessHandle.current().pid();

    private final int domid;
    private final SimPortRegistry registry;
    private final Path socketPath;
    private final ServerSocketChannel server;
    private final PendingPorts pending = new PendingPorts();
    private final Map<String, SocketChannel> peers = new ConcurrentHashMap<>();
    private volatile boolean closed;

    private SimEventChannels(int domid, SimPortRegistry registry, Path socketPath, ServerSocketChannel server) {
        this.domid = domid;
        this.registry = registry;
        this.socketPath = socketPath;
        this.server = server;
    }

    /** An evtchn instance acting for {@code domid} in the simulated host at {@code layout}. */
    public static SimEventChannels open(SimLayout layout, int domid) throws IOException {
        SimPortRegistry registry = new SimPortRegistry(layout.evtchnDir());
        Path socket = layout.evtchnDir().resolve("s" + domid + "-" + UUID.randomUUID().toString().substring(0, 8));
        ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        SimEventChannels ec = new SimEventChannels(domid, registry, socket, server);
        Thread t = new Thread(ec::acceptLoop, "sim-evtchn-accept-d" + domid);
        t.setDaemon(true);
        t.start();
        return ec;
    }

    public int domid() {
        return domid;
    }

    /**
     * Allocates a port that {@code remoteDomid} may bind to, as a frontend does before publishing it
     * in xenstore ({@code EVTCHNOP_alloc_unbound}). Sim-only: a backend never needs it.
     */
    public int bindUnbound(int remoteDomid) throws IOException {
        int port = registry.locked(() -> {
            int p = registry.freePort(domid);
            registry.write(PortRecord.unbound(domid, p, remoteDomid, socketPath.toString(), SELF));
            return p;
        });
        pending.bind(port);
        return port;
    }

    @Override
    public int bindInterdomain(int remoteDomid, int remotePort) throws IOException {
        int port = registry.locked(() -> {
            Optional<PortRecord> remote = registry.read(remoteDomid, remotePort);
            if (remote.isPresent()) {
                remote = Optional.of(releasedIfOurEndDied(remote.get()));
            }
            // Xen accepts only an unbound port that was allocated for this domain (EINVAL otherwise).
            if (remote.isEmpty() || remote.get().interdomain() || remote.get().remoteDomid() != domid) {
                throw new IOException("binding to port " + remotePort + " of domain " + remoteDomid
                        + " failed: EINVAL (" + remote.map(r -> r.interdomain() ? "already bound"
                                : "allocated for domain " + r.remoteDomid()).orElse("no such port")
                        + "); the frontend must allocate it for domain " + domid);
            }
            int p = registry.freePort(domid);
            registry.write(new PortRecord(domid, p, true, remoteDomid, remotePort, socketPath.toString(), SELF));
            registry.write(new PortRecord(remoteDomid, remotePort, true, domid, p, remote.get().socket(),
                    remote.get().ownerPid()));
            return p;
        });
        pending.bind(port);
        return port;
    }

    /**
     * A remote port still bound to a port of this domain whose process died is, in Xen, unbound:
     * the kernel closed the dead process's evtchn file and with it the port (EVTCHNOP_close leaves
     * the other end unbound, allocated for this domain). A restarted backend can then bind the
     * frontend's port again. Call under the registry lock.
     */
    private PortRecord releasedIfOurEndDied(PortRecord remote) throws IOException {
        if (!remote.interdomain() || remote.remoteDomid() != domid) {
            return remote;
        }
        Optional<PortRecord> ours = registry.read(domid, remote.remotePort());
        boolean stale = ours.isEmpty() || ours.get().ownerDied() || !ours.get().interdomain()
                || ours.get().remoteDomid() != remote.domid() || ours.get().remotePort() != remote.port();
        if (!stale) {
            return remote;
        }
        if (ours.isPresent() && ours.get().ownerDied()) {
            registry.delete(domid, remote.remotePort());
        }
        PortRecord released = remote.closedByPeer();
        registry.write(released);
        return released;
    }

    private void requireBound(int port, String op) throws IOException {
        if (!pending.isBound(port)) {
            throw new IOException(op + " of port " + port + " of domain " + domid
                    + " failed: ENOTCONN (this event channel instance did not bind it)");
        }
    }

    @Override
    public void unbind(int localPort) throws IOException {
        requireBound(localPort, "unbind");
        pending.unbind(localPort);
        registry.locked(() -> {
            Optional<PortRecord> mine = registry.read(domid, localPort);
            registry.delete(domid, localPort);
            if (mine.isPresent() && mine.get().interdomain()) {
                PortRecord m = mine.get();
                Optional<PortRecord> peer = registry.read(m.remoteDomid(), m.remotePort());
                if (peer.isPresent() && peer.get().remoteDomid() == domid && peer.get().remotePort() == localPort) {
                    // As in Xen, closing one end leaves the other end unbound, still allocated for this domain.
                    registry.write(peer.get().closedByPeer());
                }
            }
            return null;
        });
    }

    @Override
    public void notify(int localPort) throws IOException {
        requireBound(localPort, "notify");
        Optional<PortRecord> mine = registry.read(domid, localPort);
        if (mine.isEmpty() || !mine.get().interdomain()) {
            return; // Nothing is connected yet: Xen drops the notification too.
        }
        PortRecord m = mine.get();
        Optional<PortRecord> peer = registry.read(m.remoteDomid(), m.remotePort());
        if (peer.isEmpty() || !peer.get().interdomain() || peer.get().remotePort() != localPort
                || peer.get().remoteDomid() != domid) {
            return;
        }
        send(peer.get().socket(), m.remotePort());
    }

    private void send(String socket, int port) throws IOException {
        ByteBuffer msg = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(0, port);
        for (int attempt = 0; attempt < 2; attempt++) {
            SocketChannel ch = peers.get(socket);
            try {
                if (ch == null) {
                    ch = SocketChannel.open(StandardProtocolFamily.UNIX);
                    ch.connect(UnixDomainSocketAddress.of(Path.of(socket)));
                    SocketChannel raced = peers.putIfAbsent(socket, ch);
                    if (raced != null) {
                        ch.close();
                        ch = raced;
                    }
                }
                synchronized (ch) {
                    msg.rewind();
                    while (msg.hasRemaining()) {
                        ch.write(msg);
                    }
                }
                return;
            } catch (IOException e) {
                // The peer process went away or restarted: forget the connection and try once more.
                if (ch != null) {
                    peers.remove(socket, ch);
                    ch.close();
                }
                if (attempt == 1) {
                    LOG.debug("event for port {} dropped, peer socket {} unreachable: {}", port, socket, e.getMessage());
                }
            }
        }
    }

    @Override
    public int[] awaitPending(Duration timeout) throws InterruptedException {
        return pending.await(timeout);
    }

    @Override
    public void unmask(int... localPorts) {
        for (int p : localPorts) {
            pending.unmask(p);
        }
    }

    private void acceptLoop() {
        try {
            while (!closed) {
                SocketChannel c = server.accept();
                Thread t = new Thread(() -> readLoop(c), "sim-evtchn-in-d" + domid);
                t.setDaemon(true);
                t.start();
            }
        } catch (IOException e) {
            if (!closed) {
                LOG.warn("simulated event channels of domain {} stopped accepting: {}", domid, e.getMessage());
            }
        }
    }

    private void readLoop(SocketChannel c) {
        ByteBuffer buf = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
        try (c) {
            while (!closed) {
                buf.clear();
                while (buf.hasRemaining()) {
                    if (c.read(buf) < 0) {
                        return;
                    }
                }
                pending.signal(buf.getInt(0));
            }
        } catch (IOException e) {
            LOG.debug("event connection into domain {} closed: {}", domid, e.getMessage());
        }
    }

    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        for (int p : pending.bound()) {
            try {
                unbind(p);
            } catch (IOException e) {
                LOG.debug("unbinding port {} at close: {}", p, e.getMessage());
            }
        }
        pending.close();
        server.close();
        Files.deleteIfExists(socketPath);
        for (SocketChannel ch : peers.values()) {
            ch.close();
        }
    }
}
