package org.spdksr.xenstage;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Random;

/**
 * The disk image as dom0 sees it, read and changed behind the backend's back with a descriptor of
 * its own: the known pattern the guest must read, and the checks of what the guest wrote and
 * discarded. The backend does buffered I/O, so this descriptor sees its writes at once.
 */
final class DiskImage {
    static final long MIB = 1 << 20;
    /** The first bytes of sector 0, so a person reading the guest's log sees the right disk. */
    static final String MARKER = "SPDK-SR-REAL-XEN-STAGE";

    private final Path path;

    DiskImage(Path path) {
        this.path = path;
    }

    Path path() {
        return path;
    }

    /** A sparse image of {@code size} bytes whose first {@code patternBytes} hold a fixed pseudo-random pattern. */
    void create(long size, long patternBytes) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE)) {
            Random random = new Random(0x5bd15c);
            byte[] chunk = new byte[(int) MIB];
            for (long off = 0; off < patternBytes; off += chunk.length) {
                random.nextBytes(chunk);
                if (off == 0) {
                    byte[] marker = MARKER.getBytes(StandardCharsets.US_ASCII);
                    System.arraycopy(marker, 0, chunk, 0, marker.length);
                }
                ch.write(ByteBuffer.wrap(chunk), off);
            }
            ch.truncate(size); // no-op when larger; then grow sparsely below
            if (ch.size() < size) {
                ch.write(ByteBuffer.wrap(new byte[1]), size - 1);
            }
        }
    }

    long size() throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            return ch.size();
        }
    }

    /** Grows the file sparsely (the volume layer's resize of a file volume does no more). */
    void grow(long newSize) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
            if (ch.size() < newSize) {
                ch.write(ByteBuffer.wrap(new byte[1]), newSize - 1);
            }
        }
    }

    /** The MD5 of [offset, offset+length) in hex, as busybox md5sum prints it. */
    String md5(long offset, long length) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate((int) MIB);
            long pos = offset;
            long end = offset + length;
            while (pos < end) {
                buf.clear().limit((int) Math.min(buf.capacity(), end - pos));
                int n = ch.read(buf, pos);
                if (n < 0) {
                    throw new IOException("image ends at " + pos + " before " + end);
                }
                buf.flip();
                md.update(buf);
                pos += n;
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /** The offset of the first non-zero byte in the range, or -1 when it is all zeros. */
    long firstNonZero(long offset, long length) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocate((int) MIB);
            long pos = offset;
            long end = offset + length;
            while (pos < end) {
                buf.clear().limit((int) Math.min(buf.capacity(), end - pos));
                int n = ch.read(buf, pos);
                if (n <= 0) {
                    return -1; // beyond the end reads as zeros
                }
                for (int i = 0; i < n; i++) {
                    if (buf.get(i) != 0) {
                        return pos + i;
                    }
                }
                pos += n;
            }
        }
        return -1;
    }
}
