package org.spdksr.datapath.nbd;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * A minimal NBD client written from the protocol document, independent of the server's codec
 * (so a shared mistake cannot hide): handshake, options, pipelined commands, replies by handle.
 */
final class NbdTestClient implements AutoCloseable {
    record OptionReply(int option, int type, byte[] data) {
        ByteBuffer buffer() {
            return ByteBuffer.wrap(data);
        }
    }

    record Reply(long handle, int error, byte[] data) {
    }

    final SocketChannel ch;
    final int handshakeFlags;
    long size;
    int transmissionFlags;
    private final Map<Long, Integer> pendingReadLengths = new HashMap<>();
    private long nextHandle = 1;

    NbdTestClient(Path socket) throws IOException {
        ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(socket));
        ByteBuffer g = read(18);
        assertThat(g.getLong()).isEqualTo(0x4e42444d41474943L);
        assertThat(g.getLong()).isEqualTo(0x49484156454F5054L);
        handshakeFlags = Short.toUnsignedInt(g.getShort());
        write(ByteBuffer.allocate(4).putInt(3).flip()); // C_FIXED_NEWSTYLE | C_NO_ZEROES
    }

    void sendOption(int option, byte[] data) throws IOException {
        write(ByteBuffer.allocate(16 + data.length).putLong(0x49484156454F5054L).putInt(option).putInt(data.length)
                .put(data).flip());
    }

    OptionReply readOptionReply() throws IOException {
        ByteBuffer h = read(20);
        assertThat(h.getLong()).isEqualTo(0x3e889045565a9L);
        int option = h.getInt();
        int type = h.getInt();
        int len = h.getInt();
        byte[] data = new byte[len];
        read(len).get(data);
        return new OptionReply(option, type, data);
    }

    static byte[] queryData(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length).putInt(n.length).put(n)
                .putShort((short) infos.length);
        for (int i : infos) {
            b.putShort((short) i);
        }
        return b.array();
    }

    /** NBD_OPT_GO asking for block sizes; returns the final reply (ACK or an error) after recording size and flags. */
    OptionReply go(String name) throws IOException {
        sendOption(7, queryData(name, 3));
        while (true) {
            OptionReply r = readOptionReply();
            if (r.type() == 3 && r.buffer().getShort() == 0) {
                ByteBuffer b = r.buffer();
                b.getShort();
                size = b.getLong();
                transmissionFlags = Short.toUnsignedInt(b.getShort());
            }
            if (r.type() != 3) {
                return r;
            }
        }
    }

    long handle() {
        return nextHandle++;
    }

    void command(int type, int flags, long handle, long offset, long length, byte[] payload) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(28 + (payload == null ? 0 : payload.length)).putInt(0x25609513)
                .putShort((short) flags).putShort((short) type).putLong(handle).putLong(offset).putInt((int) length);
        if (payload != null) {
            b.put(payload);
        }
        write(b.flip());
        if (type == 0) {
            pendingReadLengths.put(handle, (int) length);
        }
    }

    Reply readReply() throws IOException {
        ByteBuffer h = read(16);
        assertThat(h.getInt()).isEqualTo(0x67446698);
        int error = h.getInt();
        long handle = h.getLong();
        Integer readLength = pendingReadLengths.remove(handle);
        byte[] data = null;
        if (readLength != null && error == 0) {
            data = new byte[readLength];
            read(readLength).get(data);
        }
        return new Reply(handle, error, data);
    }

    /** One command, waited for (nothing else may be in flight). */
    Reply call(int type, int flags, long offset, long length, byte[] payload) throws IOException {
        long h = handle();
        command(type, flags, h, offset, length, payload);
        Reply r = readReply();
        assertThat(r.handle()).isEqualTo(h);
        return r;
    }

    Reply read(long offset, int length) throws IOException {
        return call(0, 0, offset, length, null);
    }

    Reply write(long offset, byte[] data) throws IOException {
        return call(1, 0, offset, data.length, data);
    }

    /** True if the server closed the connection (read returns end of stream). */
    boolean closedByServer() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1);
        try {
            return ch.read(b) < 0;
        } catch (IOException e) {
            return true; // reset by peer
        }
    }

    ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new java.io.EOFException("server closed the connection");
            }
        }
        return b.flip();
    }

    void write(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
