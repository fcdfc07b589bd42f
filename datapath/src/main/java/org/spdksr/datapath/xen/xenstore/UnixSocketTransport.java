package org.spdksr.datapath.xen.xenstore;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;

/** The xenstored unix stream socket (blkif.md §4, "Transports"). */
public final class UnixSocketTransport implements XsTransport {
    /** Where xenstored listens when XENSTORED_PATH is not set (blkif.md §4). */
    public static final Path DEFAULT_SOCKET = Path.of("/run/xenstored/socket");

    private final Path path;
    private final SocketChannel channel;
    private final Object writeLock = new Object();

    private UnixSocketTransport(Path path, SocketChannel channel) {
        this.path = path;
        this.channel = channel;
    }

    public static UnixSocketTransport connect(Path socket) throws IOException {
        SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        try {
            ch.connect(UnixDomainSocketAddress.of(socket));
        } catch (IOException e) {
            ch.close();
            throw new IOException("cannot connect to xenstored socket " + socket + ": " + e.getMessage()
                    + "; is xenstored (or the simulated server) running, and is XENSTORED_PATH right?", e);
        }
        return new UnixSocketTransport(socket, ch);
    }

    /** XENSTORED_PATH if set, else {@link #DEFAULT_SOCKET}. */
    public static Path defaultPath() {
        String env = System.getenv("XENSTORED_PATH");
        return env == null || env.isEmpty() ? DEFAULT_SOCKET : Path.of(env);
    }

    @Override
    public XsMessage read() throws IOException {
        return XsWire.read(channel);
    }

    @Override
    public void write(XsMessage m) throws IOException {
        synchronized (writeLock) {
            XsWire.write(channel, m);
        }
    }

    @Override
    public int payloadMax() {
        return XsWire.PAYLOAD_MAX;
    }

    @Override
    public boolean fakesWatchReplies() {
        return false;
    }

    @Override
    public String describe() {
        return "xenstored socket " + path;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
