package org.spdksr.datapath.nbd;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.SocketChannel;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Semaphore;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.device.BlockDeviceException;
import org.spdksr.datapath.device.DeviceRange;
import org.spdksr.datapath.device.FileBlockDevice;

/**
 * One client session: fixed newstyle negotiation, then the transmission phase (proto.md). One
 * thread reads requests in order and hands them to the device without waiting; each reply is sent
 * when its operation completes, so replies may come out of order (the client matches them by
 * handle) and are written whole under a lock so they never interleave on the socket.
 *
 * <p>Replies are written by a reply thread of the connection, never by the thread that completes
 * the device operation: a device's I/O threads are shared with the guest ring, and a client that
 * stops reading its replies must not stall them on a full socket.
 *
 * <p>Memory is bounded: a request takes an in-flight slot and its payload size from a byte budget
 * before its buffer is allocated; when either runs out the reader stops reading, which pushes back
 * on the client through the socket.
 */
final class NbdConnection implements Runnable {
    private static final Logger LOG = LoggerFactory.getLogger(NbdConnection.class);
    private static final int ALLOWED_COMMAND_FLAGS = NbdProtocol.CMD_FLAG_FUA;

    private final SocketChannel channel;
    private final ExportRegistry registry;
    private final NbdServerConfig config;
    private final String label;
    private final ReentrantLock writeLock = new ReentrantLock();
    private final Semaphore slots;
    private final Semaphore bufferBytes;
    private final int bufferBudget;
    private final CountDownLatch finished = new CountDownLatch(1);
    private final ExecutorService replier;
    private volatile boolean stopping;

    NbdConnection(SocketChannel channel, ExportRegistry registry, NbdServerConfig config, String label) {
        this.channel = channel;
        this.registry = registry;
        this.config = config;
        this.label = label;
        this.slots = new Semaphore(config.maxInFlightPerConnection());
        this.bufferBudget = (int) Math.min(Integer.MAX_VALUE, config.maxBufferedBytesPerConnection());
        this.bufferBytes = new Semaphore(bufferBudget);
        this.replier = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, label + " replies");
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public void run() {
        try {
            NbdExport export = negotiate();
            if (export != null) {
                transmit(export);
            }
        } catch (EOFException | ClosedChannelException e) {
            LOG.debug("{}: client went away: {}", label, e.getMessage());
        } catch (IOException e) {
            if (!stopping) {
                LOG.warn("{}: session ended: {}", label, e.getMessage());
            }
        } catch (RuntimeException e) {
            LOG.error("{}: session failed; the client was disconnected", label, e);
        } finally {
            // proto.md "Terminating the transmission phase": handle outstanding requests before closing.
            slots.acquireUninterruptibly(config.maxInFlightPerConnection());
            replier.shutdown();
            registry.unbind(this);
            closeChannel();
            finished.countDown();
        }
    }

    /** Stops reading requests; in-flight ones are answered, then the socket is closed. */
    void shutdown() {
        stopping = true;
        try {
            channel.shutdownInput(); // wakes the reader: its read returns end of stream
        } catch (IOException e) {
            closeChannel();
        }
    }

    void awaitFinished() {
        boolean interrupted = false;
        while (true) {
            try {
                finished.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return label;
    }

    // ---- negotiation -------------------------------------------------------------------------

    /** Returns the export to serve, or null when the session ends during negotiation. */
    private NbdExport negotiate() throws IOException {
        NbdCodec.writeGreeting(channel, NbdProtocol.FLAG_FIXED_NEWSTYLE | NbdProtocol.FLAG_NO_ZEROES);
        int clientFlags = NbdCodec.readClientFlags(channel);
        int known = NbdProtocol.FLAG_C_FIXED_NEWSTYLE | NbdProtocol.FLAG_C_NO_ZEROES;
        if ((clientFlags & ~known) != 0) {
            // proto.md "Client flags": the server MUST drop the connection on an unknown flag.
            throw new NbdProtocolException("client sent unknown handshake flags 0x" + Integer.toHexString(clientFlags));
        }
        boolean noZeroes = (clientFlags & NbdProtocol.FLAG_C_NO_ZEROES) != 0;
        while (true) {
            NbdOption option = NbdCodec.readOption(channel);
            if (stopping) {
                reply(option, new NbdOptionReply.Error(NbdProtocol.REP_ERR_SHUTDOWN, "the NBD server is shutting down"));
                return null;
            }
            if (option instanceof NbdOption.ExportName o) {
                NbdExport export = registry.bind(this, o.name());
                if (export == null) {
                    // NBD_OPT_EXPORT_NAME cannot carry an error: the server must end the session.
                    LOG.info("{}: client asked for unknown export '{}'; disconnecting", label, o.name());
                    return null;
                }
                NbdCodec.writeExportNameReply(channel, export.device().sizeBytes(), transmissionFlags(export), noZeroes);
                return export;
            } else if (option instanceof NbdOption.Query q) {
                NbdExport export = q.go() ? registry.bind(this, q.name()) : registry.find(q.name());
                if (export == null) {
                    reply(q, new NbdOptionReply.Error(NbdProtocol.REP_ERR_UNKNOWN, "no export named '" + q.name()
                            + "' on this server; NBD_OPT_LIST (nbdinfo --list) shows the exports"));
                    continue;
                }
                describe(q, export);
                if (q.go()) {
                    return export;
                }
            } else if (option instanceof NbdOption.ListExports) {
                for (String name : registry.names()) {
                    reply(option, new NbdOptionReply.Server(name));
                }
                reply(option, new NbdOptionReply.Ack());
            } else if (option instanceof NbdOption.Abort) {
                try {
                    reply(option, new NbdOptionReply.Ack());
                } catch (IOException e) {
                    // proto.md NBD_OPT_ABORT: clients may close without waiting for the ACK (qemu does).
                    LOG.debug("{}: client left before the ABORT acknowledgement: {}", label, e.getMessage());
                }
                return null;
            } else if (option instanceof NbdOption.Malformed m) {
                reply(option, new NbdOptionReply.Error(NbdProtocol.REP_ERR_INVALID, m.reason()));
            } else {
                reply(option, new NbdOptionReply.Error(NbdProtocol.REP_ERR_UNSUP,
                        "option " + option.code() + " is not supported by this server"));
            }
        }
    }

    /**
     * NBD_REP_INFO replies for INFO/GO: NBD_INFO_EXPORT always (it is mandatory), the block sizes
     * always (a server may send them unrequested, and clients that asked must honour them), the
     * description when asked for, then NBD_REP_ACK.
     */
    private void describe(NbdOption.Query q, NbdExport export) throws IOException {
        BlockDevice device = export.device();
        reply(q, new NbdOptionReply.ExportInfo(device.sizeBytes(), transmissionFlags(export)));
        int minimum = device.logicalBlockSize();
        int preferred = Math.max(4096, minimum);
        reply(q, new NbdOptionReply.BlockSizeInfo(minimum, preferred, Math.max(preferred, config.maxRequestBytes())));
        if (q.requestedInfo().contains(NbdProtocol.INFO_DESCRIPTION) && !export.description().isEmpty()) {
            reply(q, new NbdOptionReply.DescriptionInfo(export.description()));
        }
        reply(q, new NbdOptionReply.Ack());
    }

    private static int transmissionFlags(NbdExport export) {
        // CAN_MULTI_CONN: all connections share one device, and a flush (fdatasync) covers writes
        // completed on any of them, which is what the flag promises (proto.md "Transmission flags").
        int flags = NbdProtocol.TFLAG_HAS_FLAGS | NbdProtocol.TFLAG_SEND_FLUSH | NbdProtocol.TFLAG_SEND_FUA
                | NbdProtocol.TFLAG_CAN_MULTI_CONN;
        if (export.readOnly()) {
            flags |= NbdProtocol.TFLAG_READ_ONLY;
        } else if (export.device().supportsDiscard()) {
            flags |= NbdProtocol.TFLAG_SEND_TRIM;
        }
        return flags;
    }

    private void reply(NbdOption option, NbdOptionReply reply) throws IOException {
        NbdCodec.writeOptionReply(channel, option.code(), reply);
    }

    // ---- transmission ------------------------------------------------------------------------

    private void transmit(NbdExport export) throws IOException {
        BlockDevice device = export.device();
        long size = device.sizeBytes(); // the size this client was given; it never sees more
        LOG.debug("{}: serving export '{}' ({} bytes)", label, export.name(), size);
        while (true) {
            NbdCommand command = NbdCodec.readCommand(channel);
            if (command == null || command instanceof NbdCommand.Disconnect) {
                return;
            }
            if (command instanceof NbdCommand.Write w) {
                write(export, size, w);
                continue;
            }
            if ((command.flags() & ~ALLOWED_COMMAND_FLAGS) != 0) {
                // proto.md "Error values": EINVAL for an unknown or inapplicable command flag.
                sendReply(command.handle(), NbdProtocol.EINVAL, null);
            } else if (command instanceof NbdCommand.Read r) {
                read(device, size, r);
            } else if (command instanceof NbdCommand.Flush f) {
                acquire(0);
                start(f.handle(), 0, invoke(device::flush), null);
            } else if (command instanceof NbdCommand.Trim t) {
                trim(export, size, t);
            } else {
                sendReply(command.handle(), NbdProtocol.EINVAL, null);
            }
        }
    }

    private void read(BlockDevice device, long size, NbdCommand.Read r) throws IOException {
        if (r.length() > config.maxRequestBytes()) {
            sendReply(r.handle(), NbdProtocol.EINVAL, null);
            return;
        }
        if (!DeviceRange.inside(r.offset(), r.length(), size)) {
            sendReply(r.handle(), NbdProtocol.EINVAL, null);
            return;
        }
        int length = (int) r.length();
        acquire(length);
        ByteBuffer data = allocate(length, device);
        if (data == null) {
            release(length);
            sendReply(r.handle(), NbdProtocol.ENOMEM, null);
            return;
        }
        start(r.handle(), length, invoke(() -> device.read(r.offset(), data)), data);
    }

    /** The payload is always consumed, even for a refused write, so the stream stays in step. */
    private void write(NbdExport export, long size, NbdCommand.Write w) throws IOException {
        if (w.length() > config.maxRequestBytes()) {
            NbdCodec.skip(channel, w.length());
            sendReply(w.handle(), NbdProtocol.EINVAL, null);
            return;
        }
        int length = (int) w.length();
        acquire(length);
        ByteBuffer data = allocate(length, export.device());
        if (data == null) {
            release(length);
            NbdCodec.skip(channel, length);
            sendReply(w.handle(), NbdProtocol.ENOMEM, null);
            return;
        }
        try {
            NbdCodec.fill(channel, data, false);
        } catch (IOException e) {
            release(length);
            throw e;
        }
        data.flip();
        int error = 0;
        if ((w.flags() & ~ALLOWED_COMMAND_FLAGS) != 0) {
            error = NbdProtocol.EINVAL;
        } else if (export.readOnly()) {
            error = NbdProtocol.EPERM;
        } else if (!DeviceRange.inside(w.offset(), length, size)) {
            // proto.md "Error values": ENOSPC for a write beyond the end of the device.
            error = NbdProtocol.ENOSPC;
        }
        if (error != 0) {
            release(length);
            sendReply(w.handle(), error, null);
            return;
        }
        BlockDevice device = export.device();
        CompletableFuture<Void> done = invoke(() -> device.write(w.offset(), data));
        if (w.fua()) {
            done = done.thenCompose(v -> device.flush());
        }
        start(w.handle(), length, done, null);
    }

    private void trim(NbdExport export, long size, NbdCommand.Trim t) throws IOException {
        if (export.readOnly()) {
            sendReply(t.handle(), NbdProtocol.EPERM, null);
            return;
        }
        if (!DeviceRange.inside(t.offset(), t.length(), size)) {
            sendReply(t.handle(), NbdProtocol.EINVAL, null);
            return;
        }
        BlockDevice device = export.device();
        acquire(0);
        CompletableFuture<Void> done = invoke(() -> device.discard(t.offset(), t.length()))
                // TRIM is a hint (proto.md): a device that cannot discard has still done its job.
                .exceptionallyCompose(e -> isUnsupported(e) ? CompletableFuture.completedFuture(null)
                        : CompletableFuture.failedFuture(e));
        if (t.fua()) {
            done = done.thenCompose(v -> device.flush());
        }
        start(t.handle(), 0, done, null);
    }

    private static boolean isUnsupported(Throwable e) {
        Throwable t = e.getCause() != null && !(e instanceof BlockDeviceException) ? e.getCause() : e;
        return t instanceof BlockDeviceException b && b.reason() == BlockDeviceException.Reason.UNSUPPORTED;
    }

    /**
     * Calls the device; a device that throws instead of failing its future still gets an error
     * reply, and the slot taken for the request is still given back.
     */
    private static CompletableFuture<Void> invoke(Supplier<CompletableFuture<Void>> call) {
        try {
            return call.get();
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    /** An I/O buffer aligned for the device (O_DIRECT needs it), or null when direct memory is exhausted. */
    private ByteBuffer allocate(int length, BlockDevice device) {
        try {
            return FileBlockDevice.alignedBuffer(length, device.logicalBlockSize());
        } catch (OutOfMemoryError e) {
            LOG.warn("{}: no direct memory for a {}-byte request; answering ENOMEM (raise -XX:MaxDirectMemorySize)",
                    label, length);
            return null;
        }
    }

    /** Takes an in-flight slot and {@code bytes} of the buffer budget, blocking the reader while either is exhausted. */
    private void acquire(int bytes) {
        slots.acquireUninterruptibly();
        bufferBytes.acquireUninterruptibly(Math.min(bytes, bufferBudget));
    }

    private void release(int bytes) {
        bufferBytes.release(Math.min(bytes, bufferBudget));
        slots.release();
    }

    /** Replies when {@code op} completes, then gives back what {@link #acquire} took for it. */
    private void start(long handle, int bytes, CompletableFuture<Void> op, ByteBuffer readData) {
        op.whenCompleteAsync((v, failure) -> {
            try {
                if (failure != null) {
                    LOG.debug("{}: request {} failed: {}", label, handle, failure.toString());
                    sendReply(handle, NbdErrors.errno(failure), null);
                } else {
                    sendReply(handle, 0, readData);
                }
            } catch (IOException e) {
                LOG.debug("{}: could not send the reply to request {}: {}", label, handle, e.getMessage());
                closeChannel(); // the client is gone; the reader sees the closed socket and ends
            } finally {
                release(bytes);
            }
        }, replier);
    }

    private void sendReply(long handle, int error, ByteBuffer data) throws IOException {
        ByteBuffer header = NbdCodec.simpleReplyHeader(handle, error);
        writeLock.lock();
        try {
            if (data == null) {
                NbdCodec.writeFully(channel, header);
            } else {
                NbdCodec.writeFully(channel, header, data.duplicate());
            }
        } finally {
            writeLock.unlock();
        }
    }

    private void closeChannel() {
        try {
            channel.close();
        } catch (IOException e) {
            LOG.debug("{}: closing the socket: {}", label, e.getMessage());
        }
    }
}
