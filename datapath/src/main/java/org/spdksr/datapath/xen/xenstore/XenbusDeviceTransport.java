package org.spdksr.datapath.xen.xenstore;

import java.io.EOFException;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * The {@code /dev/xen/xenbus} character device: same framing as the socket (blkif.md §4).
 * A FileChannel is not used because it serialises read and write on one position lock, and the
 * reader thread blocks in read() while other threads must still be able to send requests.
 */
public final class XenbusDeviceTransport implements XsTransport {
    public static final Path DEFAULT_DEVICE = Path.of("/dev/xen/xenbus");

    private final Path path;
    private final RandomAccessFile file;
    private final FileInputStream in;
    private final FileOutputStream out;
    private final Object writeLock = new Object();

    private XenbusDeviceTransport(Path path, RandomAccessFile file) throws IOException {
        this.path = path;
        this.file = file;
        this.in = new FileInputStream(file.getFD());
        this.out = new FileOutputStream(file.getFD());
    }

    public static XenbusDeviceTransport open(Path device) throws IOException {
        try {
            return new XenbusDeviceTransport(device, new RandomAccessFile(device.toFile(), "rw"));
        } catch (IOException e) {
            throw new IOException("cannot open xenbus device " + device + ": " + e.getMessage()
                    + "; this needs a Xen dom0 with the xenfs/xenbus driver loaded and root privileges", e);
        }
    }

    @Override
    public XsMessage read() throws IOException {
        byte[] header = new byte[XsWire.HEADER_SIZE];
        if (!readFully(header, true)) {
            return null;
        }
        ByteBuffer h = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        int type = h.getInt();
        int reqId = h.getInt();
        int txId = h.getInt();
        int len = h.getInt();
        if (len < 0 || len > XsWire.PAYLOAD_MAX) {
            throw new IOException("xenbus device " + path + " returned a payload length of "
                    + Integer.toUnsignedString(len) + ", over the blkif.md §4.1 limit");
        }
        byte[] payload = new byte[len];
        readFully(payload, false);
        return new XsMessage(type, reqId, txId, payload);
    }

    private boolean readFully(byte[] buf, boolean eofAllowedAtStart) throws IOException {
        int pos = 0;
        while (pos < buf.length) {
            int n = in.read(buf, pos, buf.length - pos);
            if (n < 0) {
                if (eofAllowedAtStart && pos == 0) {
                    return false;
                }
                throw new EOFException("xenbus device " + path + " ended inside a message");
            }
            pos += n;
        }
        return true;
    }

    @Override
    public void write(XsMessage m) throws IOException {
        // One write() per message: the kernel collects a request per fd and parses it when complete.
        byte[] frame = XsWire.encode(m).array();
        synchronized (writeLock) {
            out.write(frame);
        }
    }

    /** The kernel buffers header plus payload in 4096 bytes (blkif.md §4.1), so the payload gets 16 bytes less. */
    @Override
    public boolean oneRequestAtATime() {
        return true;
    }

    @Override
    public int payloadMax() {
        return XsWire.PAYLOAD_MAX - XsWire.HEADER_SIZE;
    }

    @Override
    public boolean fakesWatchReplies() {
        return true;
    }

    @Override
    public String describe() {
        return "xenbus device " + path;
    }

    @Override
    public void close() throws IOException {
        file.close();
    }
}
