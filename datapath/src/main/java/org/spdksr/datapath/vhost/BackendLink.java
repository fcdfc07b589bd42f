package org.spdksr.datapath.vhost;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.device.BlockDeviceException;
import org.spdksr.datapath.device.BlockDeviceException.Reason;
import org.spdksr.datapath.vhost.VhostHandshake.Negotiated;

/**
 * The connection to the back end over time: the first handshake, the completion thread, and
 * reconnection after the back end goes away.
 *
 * <p>The completion thread polls the call eventfd of every queue, the vhost-user socket (for
 * hang-up only: nothing else arrives unsolicited on the front-end channel) and a wake-up eventfd.
 * On a hang-up it takes the rings back ({@link BlkQueue#detach}: completed requests complete,
 * the rest wait), and connects again every {@code reconnectInterval}. A new back end gets the
 * full handshake, the same memory region and reset rings (base 0), and the waiting requests are
 * resubmitted. If no back end is back within {@code reconnectTimeout}, the waiting requests fail
 * with {@link Reason#IO_ERROR}, and so do new ones until a back end is back.
 */
final class BackendLink implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(BackendLink.class);

    enum State { CONNECTED, RECONNECTING, DISCONNECTED, CLOSED }

    private final String name;
    private final Path socket;
    private final VhostDeviceOptions options;
    private final SharedRegion region;
    private final VhostBackendControl control;
    private final EventFd wake;
    private volatile VhostUserConnection connection;
    private volatile Negotiated negotiated;
    private volatile State state = State.RECONNECTING;
    private volatile boolean stopping;
    private List<BlkQueue> queues = List.of();
    private Thread poller;
    private volatile long reconnects;

    BackendLink(String name, Path socket, VhostDeviceOptions options, SharedRegion region, VhostBackendControl control) {
        this.name = name;
        this.socket = socket;
        this.options = options;
        this.region = region;
        this.control = control;
        this.wake = new EventFd("wake-up of " + name);
    }

    /** Connects and negotiates for the first time; {@link #start} follows once the queues exist. */
    Negotiated connect() throws IOException {
        VhostUserConnection c = VhostUserConnection.connect(socket);
        try {
            negotiated = VhostHandshake.negotiate(c, options.maxQueues());
            connection = c;
            return negotiated;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Registers memory and rings, then starts the completion thread. */
    void start(List<BlkQueue> queues) throws IOException {
        this.queues = List.copyOf(queues);
        setUp(connection, negotiated);
        state = State.CONNECTED;
        poller = new Thread(this::pollLoop, "vhost-" + socket.getFileName());
        poller.setDaemon(true);
        poller.start();
    }

    private void setUp(VhostUserConnection c, Negotiated n) throws IOException {
        VhostHandshake.registerMemory(c, region);
        for (BlkQueue q : queues) {
            VhostHandshake.startRing(c, q, true);
        }
        for (BlkQueue q : queues) {
            q.attach();
        }
    }

    State state() {
        return state;
    }

    Negotiated negotiated() {
        return negotiated;
    }

    long reconnects() {
        return reconnects;
    }

    /** After {@link #close()}: the back end's controller (if someone manages one) may go. */
    void releaseBackend() {
        try {
            control.release();
        } catch (RuntimeException e) {
            LOG.warn("{}: releasing the back end of {} failed: {}", name, socket, e.toString());
        }
    }

    /** Re-reads the virtio-blk config (e.g. the capacity after a resize). */
    VirtioBlkConfig refreshConfig() throws IOException {
        VhostUserConnection c = connection;
        if (c == null || state != State.CONNECTED) {
            return negotiated.config();
        }
        VhostReply.Config reply = (VhostReply.Config) c.call(new VhostMessage.GetConfig(0, VirtioBlkConfig.SIZE));
        VirtioBlkConfig config = VirtioBlkConfig.parse(reply.bytes());
        Negotiated n = negotiated;
        negotiated = new Negotiated(n.features(), n.protocolFeatures(), n.queues(), config);
        return config;
    }

    private void pollLoop() {
        int nfds = 2 + queues.size();
        try (Memory fds = new Memory(8L * nfds)) {
            while (!stopping) {
                VhostUserConnection c = connection;
                fds.clear();
                fds.setInt(0, wake.fd());
                fds.setShort(4, Libc.POLLIN);
                fds.setInt(8, c == null ? -1 : c.fd());
                fds.setShort(12, (short) (Libc.POLLRDHUP | Libc.POLLHUP));
                for (int i = 0; i < queues.size(); i++) {
                    fds.setInt(16 + 8L * i, queues.get(i).callFd().fd());
                    fds.setShort(16 + 8L * i + 4, Libc.POLLIN);
                }
                try {
                    Libc.poll(fds, nfds, -1);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() != Libc.EINTR) {
                        throw e;
                    }
                }
                wake.drain();
                // Reap every queue on any wake-up: cheap, and a missed call notification cannot strand a request.
                for (BlkQueue q : queues) {
                    q.reap();
                }
                short socketEvents = fds.getShort(14);
                if (!stopping && (socketEvents & (Libc.POLLRDHUP | Libc.POLLHUP | Libc.POLLERR | Libc.POLLNVAL)) != 0) {
                    reconnect();
                }
            }
        } catch (RuntimeException | Error e) {
            LOG.error("{}: the completion thread failed; requests in flight fail and the device must be reopened", name, e);
            state = State.CLOSED;
            BlockDeviceException cause = new BlockDeviceException(Reason.IO_ERROR,
                    name + ": the completion thread failed (" + e + "); close the device and open it again", e);
            for (BlkQueue q : queues) {
                q.detach();
                q.failWaiting(cause);
            }
        }
    }

    /** Runs on the completion thread until a back end is back or the device closes. */
    private void reconnect() {
        LOG.warn("{}: the vhost-user back end at {} went away; requests in flight wait for it to come back (up to {})",
                name, socket, options.reconnectTimeout());
        state = State.RECONNECTING;
        VhostUserConnection old = connection;
        connection = null;
        if (old != null) {
            old.close();
        }
        for (BlkQueue q : queues) {
            q.detach();
        }
        long deadline = System.nanoTime() + options.reconnectTimeout().toNanos();
        long nextRestore = System.nanoTime();
        IOException last = null;
        while (!stopping) {
            try {
                VhostUserConnection c = VhostUserConnection.connect(socket);
                try {
                    Negotiated n = VhostHandshake.negotiate(c, options.maxQueues());
                    checkCompatible(n);
                    setUp(c, n);
                    negotiated = n;
                    connection = c;
                    state = State.CONNECTED;
                    reconnects++;
                    LOG.info("{}: reconnected to the vhost-user back end at {}", name, socket);
                    return;
                } catch (IOException | RuntimeException e) {
                    c.close();
                    for (BlkQueue q : queues) {
                        q.detach();
                    }
                    throw e;
                }
            } catch (IOException e) {
                last = e;
                if (System.nanoTime() - nextRestore >= 0) {
                    nextRestore = System.nanoTime() + 1_000_000_000L;
                    try {
                        control.restore();
                    } catch (IOException | RuntimeException r) {
                        LOG.warn("{}: cannot restore the back end's socket {} yet: {}", name, socket, r.getMessage());
                    }
                }
            }
            if (System.nanoTime() - deadline > 0) {
                if (state != State.DISCONNECTED) {
                    LOG.error("{}: no vhost-user back end at {} within {}: failing requests until one is back; last error: {}",
                            name, socket, options.reconnectTimeout(), last.getMessage());
                }
                state = State.DISCONNECTED;
                BlockDeviceException cause = new BlockDeviceException(Reason.IO_ERROR, name + ": the vhost-user back end at "
                        + socket + " has been gone for more than " + options.reconnectTimeout() + " (" + last.getMessage()
                        + "); the request was not completed: restart the back end (spdk_tgt) and retry", last);
                for (BlkQueue q : queues) {
                    q.failWaiting(cause);
                }
            }
            pause();
        }
    }

    private void checkCompatible(Negotiated n) throws IOException {
        Negotiated before = negotiated;
        if (n.queues() < queues.size() || n.has(VirtioFeatures.RING_F_EVENT_IDX) != before.has(VirtioFeatures.RING_F_EVENT_IDX)
                || n.has(VirtioFeatures.RING_F_INDIRECT_DESC) != before.has(VirtioFeatures.RING_F_INDIRECT_DESC)) {
            throw new IOException("the restarted back end at " + socket + " offers " + n.queues() + " queues and features 0x"
                    + Long.toHexString(n.features()) + ", where the device was set up for " + queues.size()
                    + " queues and features 0x" + Long.toHexString(before.features()) + "; close and reopen the device");
        }
    }

    private void pause() {
        try (Memory fd = new Memory(8)) {
            fd.setInt(0, wake.fd());
            fd.setShort(4, Libc.POLLIN);
            fd.setShort(6, (short) 0);
            Libc.poll(fd, 1, (int) Math.max(1, options.reconnectInterval().toMillis()));
        } catch (LastErrorException e) {
            // EINTR: retry sooner.
        }
    }

    /** Wakes the completion thread, e.g. so it sees {@code stopping}. */
    void wakeUp() {
        wake.signal();
    }

    /** Stops the rings (GET_VRING_BASE), the completion thread, and disconnects. */
    @Override
    public void close() {
        VhostUserConnection c = connection;
        if (c != null && state == State.CONNECTED) {
            for (BlkQueue q : queues) {
                try {
                    VhostHandshake.stopRing(c, q.index());
                } catch (IOException e) {
                    LOG.debug("{}: GET_VRING_BASE({}) failed while closing: {}", name, q.index(), e.getMessage());
                }
            }
        }
        stopping = true;
        state = State.CLOSED;
        wake.signal();
        if (poller != null) {
            try {
                poller.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        connection = null;
        if (c != null) {
            c.close();
        }
        wake.close();
    }
}
