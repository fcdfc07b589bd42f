package org.spdksr.datapath.nbd;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Serves {@link NbdExport}s over NBD on a unix socket, for dom0 consumers of a disk (HVM emulated
 * boot, {@code vdi-copy}, export and backup: ARCHITECTURE.md §1). Several clients may connect at
 * once, to the same or different exports; each connection has its own thread.
 *
 * <p>Devices: an export says who closes its device ({@link NbdExport.Ownership}). When an export is
 * removed or the server closes, its connections first stop reading, answer what is in flight and
 * close; only then is a server-owned device closed. A caller-owned device is left open.
 */
public final class NbdServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NbdServer.class);
    private static final int S_IFMT = 0170000;
    private static final int S_IFSOCK = 0140000;

    private final Path socketPath;
    private final NbdServerConfig config;
    private final ServerSocketChannel listener;
    private final ExportRegistry registry = new ExportRegistry();
    private final Map<NbdConnection, Thread> connections = new ConcurrentHashMap<>();
    private final AtomicInteger connectionCount = new AtomicInteger();
    private final AtomicBoolean closed = new AtomicBoolean();
    private final Thread acceptor;

    private NbdServer(Path socketPath, NbdServerConfig config, ServerSocketChannel listener) {
        this.socketPath = socketPath;
        this.config = config;
        this.listener = listener;
        this.acceptor = new Thread(this::acceptLoop, "nbd-accept-" + socketPath.getFileName());
        this.acceptor.setDaemon(true);
    }

    /**
     * Binds the socket (replacing a stale socket file left by a crashed process, never any other
     * file), makes it accessible to its owner only, and starts accepting.
     */
    public static NbdServer start(Path socketPath, NbdServerConfig config, Collection<NbdExport> exports)
            throws IOException {
        removeStaleSocket(socketPath);
        ServerSocketChannel listener = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            listener.bind(UnixDomainSocketAddress.of(socketPath));
            Files.setPosixFilePermissions(socketPath, PosixFilePermissions.fromString("rw-------"));
        } catch (IOException | RuntimeException e) {
            listener.close();
            throw new IOException("cannot listen for NBD clients on " + socketPath + ": " + e.getMessage()
                    + "; check that the directory exists and is writable and that the path is under 108 bytes", e);
        }
        NbdServer server = new NbdServer(socketPath, config, listener);
        for (NbdExport e : exports) {
            server.registry.add(e);
        }
        server.acceptor.start();
        LOG.info("NBD server listening on {} with exports {}", socketPath, server.exportNames());
        return server;
    }

    private static void removeStaleSocket(Path path) throws IOException {
        if (!Files.exists(path, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        int mode = (Integer) Files.getAttribute(path, "unix:mode", java.nio.file.LinkOption.NOFOLLOW_LINKS);
        if ((mode & S_IFMT) != S_IFSOCK) {
            throw new IOException(path + " exists and is not a socket; refusing to replace it with the NBD socket."
                    + " Choose another path or remove the file");
        }
        Files.delete(path);
    }

    public Path socketPath() {
        return socketPath;
    }

    public List<String> exportNames() {
        return registry.names();
    }

    /** Adds an export; clients can ask for it from now on. */
    public void addExport(NbdExport export) {
        if (closed.get()) {
            throw new IllegalStateException("NBD server on " + socketPath + " is closed; start a new one");
        }
        registry.add(export);
    }

    /**
     * Removes an export: new clients no longer find it, clients using it are disconnected after
     * their in-flight requests are answered, then the device is closed if the server owns it.
     *
     * @return false if there was no export by that name
     */
    public boolean removeExport(String name) {
        ExportRegistry.Removal removal = registry.remove(name);
        if (removal == null) {
            return false;
        }
        drain(removal.connections());
        closeIfOwned(removal.export());
        return true;
    }

    /** Number of client connections currently open. */
    public int connectionCount() {
        return connections.size();
    }

    /**
     * Stops accepting, lets every connection finish its in-flight requests and close, closes the
     * devices the server owns and removes the socket file. Idempotent.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        try {
            listener.close();
        } catch (IOException e) {
            LOG.warn("closing the NBD socket {}: {}", socketPath, e.getMessage());
        }
        joinUninterruptibly(acceptor);
        drain(new ArrayList<>(connections.keySet()));
        for (String name : registry.names()) {
            ExportRegistry.Removal removal = registry.remove(name);
            if (removal != null) {
                closeIfOwned(removal.export());
            }
        }
        try {
            Files.deleteIfExists(socketPath);
        } catch (IOException e) {
            LOG.warn("could not remove the NBD socket file {}: {}", socketPath, e.getMessage());
        }
        LOG.info("NBD server on {} closed", socketPath);
    }

    private void acceptLoop() {
        while (!closed.get()) {
            SocketChannel channel;
            try {
                channel = listener.accept();
            } catch (ClosedChannelException e) { // includes AsynchronousCloseException
                return; // close() closed the listener
            } catch (IOException e) {
                LOG.error("NBD server on {} cannot accept connections any more: {}", socketPath, e.getMessage());
                return;
            }
            if (closed.get() || connections.size() >= config.maxConnections()) {
                LOG.warn("NBD server on {}: refusing a client ({})", socketPath,
                        closed.get() ? "shutting down" : "already " + config.maxConnections() + " connections");
                closeQuietly(channel);
                continue;
            }
            String label = "NBD " + socketPath.getFileName() + " connection " + connectionCount.incrementAndGet();
            NbdConnection connection = new NbdConnection(channel, registry, config, label);
            Thread t = new Thread(() -> {
                try {
                    connection.run();
                } finally {
                    connections.remove(connection);
                }
            }, label);
            t.setDaemon(true);
            connections.put(connection, t);
            t.start();
        }
    }

    private static void drain(List<NbdConnection> toDrain) {
        for (NbdConnection c : toDrain) {
            c.shutdown();
        }
        for (NbdConnection c : toDrain) {
            c.awaitFinished();
        }
    }

    private static void closeIfOwned(NbdExport export) {
        if (export.ownership() == NbdExport.Ownership.SERVER) {
            try {
                export.device().close();
            } catch (RuntimeException e) {
                LOG.warn("closing the device of NBD export '{}' failed: {}", export.name(), e.toString());
            }
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // nothing was sent on it
        }
    }

    private static void joinUninterruptibly(Thread t) {
        boolean interrupted = false;
        while (true) {
            try {
                t.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
