package org.spdksr.datapath.vhost;

import java.io.IOException;
import java.nio.file.Path;
import org.spdksr.datapath.vhost.VhostMessage.ReplyKind;

/**
 * One connection to a vhost-user back end, in the front-end role: sends a {@link VhostMessage},
 * waits for its reply if the spec defines one, and asks for an ack (REPLY_ACK, spec "Protocol
 * features") on the others once that feature is negotiated, so a refused SET_MEM_TABLE or
 * SET_VRING_ADDR is reported on the message that caused it rather than as a silent stall.
 * One request at a time (the protocol is strictly request/reply on this socket).
 */
final class VhostUserConnection implements AutoCloseable {
    private final UnixSocket socket;
    private volatile boolean replyAck;

    private VhostUserConnection(UnixSocket socket) {
        this.socket = socket;
    }

    static VhostUserConnection connect(Path path) throws IOException {
        return new VhostUserConnection(UnixSocket.connect(path));
    }

    Path path() {
        return socket.path();
    }

    int fd() {
        return socket.fd();
    }

    /** From now on, messages without a reply of their own ask for an ack. */
    void enableReplyAck() {
        replyAck = true;
    }

    /** Sends {@code message}; returns its reply, or null for messages without one. */
    synchronized VhostReply call(VhostMessage message) throws IOException {
        boolean ack = replyAck && message.reply() == ReplyKind.NONE;
        socket.send(VhostCodec.encode(message, ack), message.fds());
        if (message.reply() == ReplyKind.NONE && !ack) {
            return null;
        }
        byte[] header = socket.receive(VhostCodec.HEADER_SIZE);
        int size = VhostCodec.replyPayloadSize(message, header);
        byte[] payload = socket.receive(size);
        if (ack) {
            long status = ((VhostReply.U64) VhostCodec.decodeReply(message, ReplyKind.U64, payload)).value();
            if (status != 0) {
                throw new IOException("vhost-user back end at " + socket.path() + " refused " + VhostCodec.name(message)
                        + " (REPLY_ACK status " + status + "); see the back end's log for why");
            }
            return null;
        }
        return VhostCodec.decodeReply(message, message.reply(), payload);
    }

    long callU64(VhostMessage message) throws IOException {
        return ((VhostReply.U64) call(message)).value();
    }

    /** Unblocks a thread waiting for a reply (it gets an EOF) before {@link #close()}. */
    void shutdown() {
        socket.shutdown();
    }

    @Override
    public void close() {
        socket.close();
    }
}
