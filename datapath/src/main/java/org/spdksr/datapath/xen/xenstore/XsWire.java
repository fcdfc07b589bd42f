package org.spdksr.datapath.xen.xenstore;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;

/** Framing of xenstore messages on a byte stream: 16-byte little-endian header, then payload (blkif.md §4.1). */
public final class XsWire {
    public static final int HEADER_SIZE = 16;
    /** XENSTORE_PAYLOAD_MAX: a peer that exceeds it has its connection killed (blkif.md §4.1). */
    public static final int PAYLOAD_MAX = 4096;
    public static final int ABS_PATH_MAX = 3072;
    public static final int REL_PATH_MAX = 2048;

    private XsWire() {
    }

    public static ByteBuffer encode(XsMessage m) {
        ByteBuffer buf = ByteBuffer.allocate(HEADER_SIZE + m.length()).order(ByteOrder.LITTLE_ENDIAN);
        buf.putInt(m.type()).putInt(m.reqId()).putInt(m.txId()).putInt(m.length()).put(m.payload());
        return buf.flip();
    }

    /** Writes the whole message; callers serialise writers so that frames never interleave. */
    public static void write(WritableByteChannel ch, XsMessage m) throws IOException {
        ByteBuffer buf = encode(m);
        while (buf.hasRemaining()) {
            ch.write(buf);
        }
    }

    /**
     * Reads one message. Returns null on a clean end of stream before a header starts.
     *
     * @throws IOException if the stream ends inside a message or announces a payload over {@link #PAYLOAD_MAX}
     */
    public static XsMessage read(ReadableByteChannel ch) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        if (!readFully(ch, header, true)) {
            return null;
        }
        header.flip();
        int type = header.getInt();
        int reqId = header.getInt();
        int txId = header.getInt();
        int len = header.getInt();
        if (len < 0 || len > PAYLOAD_MAX) {
            throw new IOException("xenstore message announces a payload of " + Integer.toUnsignedString(len)
                    + " bytes, over the " + PAYLOAD_MAX + "-byte limit of blkif.md §4.1; dropping the connection");
        }
        ByteBuffer payload = ByteBuffer.allocate(len);
        readFully(ch, payload, false);
        return new XsMessage(type, reqId, txId, payload.array());
    }

    private static boolean readFully(ReadableByteChannel ch, ByteBuffer buf, boolean eofAllowedAtStart)
            throws IOException {
        while (buf.hasRemaining()) {
            int n = ch.read(buf);
            if (n < 0) {
                if (eofAllowedAtStart && buf.position() == 0) {
                    return false;
                }
                throw new EOFException("xenstore stream ended inside a message (" + buf.position() + " of "
                        + buf.limit() + " bytes read)");
            }
        }
        return true;
    }
}
