package org.spdksr.datapath.device;

import com.sun.jna.LastErrorException;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.spdksr.datapath.device.BlockDeviceException.Reason;

/**
 * The {@code file} back end (ARCHITECTURE.md §4): a regular file (a sparse raw volume) or a block
 * device, accessed with {@code pread}/{@code pwrite} on one descriptor from a bounded pool of I/O
 * threads ({@link FileDeviceOptions#queueDepth()}), so one guest queue keeps many requests in
 * flight.
 *
 * <ul>
 *   <li>Bounds: every read, write and discard is checked against the size before it is queued;
 *       a range outside fails with {@link Reason#OUT_OF_RANGE} and nothing touches the file (a
 *       {@code pwrite} past the end of a regular file would silently grow it).</li>
 *   <li>Size: read with {@code lseek(SEEK_END)}, which works for files and block devices alike;
 *       {@link #sizeBytes()} re-reads it, and a range beyond the cached size re-reads it once
 *       before being refused, so an online resize (grow) is seen without reopening.</li>
 *   <li>O_DIRECT: offsets and lengths must be multiples of {@link #logicalBlockSize()}
 *       ({@link Reason#MISALIGNED} otherwise); buffers whose address is not aligned are bounced
 *       through an aligned per-thread buffer.</li>
 *   <li>Discard: {@code fallocate(PUNCH_HOLE|KEEP_SIZE)} on files (the blocks are freed and read
 *       back as zeros, fallocate(2)); {@code BLKDISCARD} on block devices, trimmed inward to whole
 *       logical blocks because the kernel refuses unaligned ranges. Whether a discarded range of a
 *       block device reads as zeros afterwards depends on the device.</li>
 *   <li>Flush: {@code fdatasync}, which covers every write completed before it (fdatasync(2)).</li>
 * </ul>
 *
 * <p>Buffers passed to {@link #read} and {@link #write} are used from {@code position} to
 * {@code limit}; their position and limit are left unchanged, and the caller must not touch them
 * until the future completes.
 */
public final class FileBlockDevice implements BlockDevice {
    /** Per-thread bounce buffers up to this size are kept; larger requests allocate one for the request. */
    private static final int CACHED_BOUNCE_LIMIT = 4 << 20;
    private static final int S_IFMT = 0170000;
    private static final int S_IFREG = 0100000;
    private static final int S_IFBLK = 0060000;

    private final Path path;
    private final String name;
    private final FileDeviceOptions options;
    private final int fd;
    private final boolean blockDevice;
    private final int logicalBlockSize;
    /** 1 for buffered I/O, {@link #logicalBlockSize} with O_DIRECT. */
    private final int alignment;
    private final IoWorkers workers;
    private final ThreadLocal<ByteBuffer> bounce = new ThreadLocal<>();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile long cachedSize;
    private volatile boolean discardSupported;

    private FileBlockDevice(Path path, FileDeviceOptions options, int fd, boolean blockDevice, int logicalBlockSize,
            long size) {
        this.path = path;
        this.name = "file device " + path;
        this.options = options;
        this.fd = fd;
        this.blockDevice = blockDevice;
        this.logicalBlockSize = logicalBlockSize;
        this.alignment = options.direct() ? logicalBlockSize : 1;
        this.cachedSize = size;
        this.discardSupported = !options.readOnly();
        this.workers = new IoWorkers("filedev-" + path.getFileName(), options.queueDepth());
    }

    /**
     * Opens an existing regular file or block device (never creates one: volumes are created by the
     * volume layer).
     *
     * @throws BlockDeviceException {@link Reason#UNSUPPORTED} if O_DIRECT was asked for and the file
     *         system refuses it (reopen without {@code direct})
     * @throws IOException if the path is missing, not a file or block device, or cannot be opened
     */
    public static FileBlockDevice open(Path path, FileDeviceOptions options) throws IOException {
        // Follows symbolic links: /dev/disk/by-id names and volume links are symlinks.
        int mode = (Integer) Files.getAttribute(path, "unix:mode");
        boolean blockDevice = (mode & S_IFMT) == S_IFBLK;
        if (!blockDevice && (mode & S_IFMT) != S_IFREG) {
            throw new IOException(path + " is neither a regular file nor a block device (mode "
                    + Integer.toOctalString(mode) + "); give the path of a volume file or a block device");
        }
        int flags = (options.readOnly() ? LinuxIo.O_RDONLY : LinuxIo.O_RDWR) | LinuxIo.O_CLOEXEC
                | (options.direct() ? LinuxIo.O_DIRECT : 0);
        int fd;
        try {
            fd = LinuxIo.open(path.toString(), flags, 0);
        } catch (LastErrorException e) {
            if (options.direct() && e.getErrorCode() == LinuxIo.EINVAL) {
                throw new BlockDeviceException(Reason.UNSUPPORTED, "the file system of " + path
                        + " refuses O_DIRECT (open: EINVAL); open it without direct I/O", e);
            }
            throw new IOException("cannot open " + path + (options.readOnly() ? " read-only" : " read-write")
                    + ": " + e.getMessage() + "; check that it exists and that this process may access it", e);
        }
        try {
            int lbs = blockDevice ? sectorSize(fd, path) : options.logicalBlockSize();
            if (options.direct()) {
                lbs = Math.max(lbs, probeDirectAlignment(fd, path, lbs));
            }
            long size = LinuxIo.lseek64(fd, 0, LinuxIo.SEEK_END);
            return new FileBlockDevice(path, options, fd, blockDevice, lbs, size);
        } catch (IOException | RuntimeException e) {
            closeQuietly(fd);
            throw e;
        }
    }

    private static int sectorSize(int fd, Path path) throws IOException {
        try (Memory out = new Memory(4)) {
            LinuxIo.ioctl(fd, LinuxIo.BLKSSZGET, out);
            int size = out.getInt(0);
            if (size < 512 || Integer.bitCount(size) != 1) {
                throw new IOException(path + " reports a logical sector size of " + size + " bytes, which blkif cannot serve");
            }
            return size;
        } catch (LastErrorException e) {
            throw new IOException("cannot read the sector size of block device " + path + " (BLKSSZGET): " + e.getMessage(), e);
        }
    }

    /**
     * Finds the smallest alignment at which an O_DIRECT read succeeds. Linux does not report the
     * direct-I/O alignment of a file through any call glibc 2.17 has (statx came later), so try the
     * usual sizes: a misaligned O_DIRECT read fails with EINVAL.
     */
    private static int probeDirectAlignment(int fd, Path path, int from) throws BlockDeviceException {
        for (int a = from; a <= 4096; a <<= 1) {
            ByteBuffer buf = alignedBuffer(a, a);
            try {
                LinuxIo.pread64(fd, Native.getDirectBufferPointer(buf), a, 0);
                return a;
            } catch (LastErrorException e) {
                if (e.getErrorCode() != LinuxIo.EINVAL) {
                    throw new BlockDeviceException(Reason.IO_ERROR, "probing O_DIRECT on " + path + " failed: " + e.getMessage(), e);
                }
            }
        }
        throw new BlockDeviceException(Reason.UNSUPPORTED, "the file system of " + path
                + " refuses O_DIRECT reads even at 4096-byte alignment; open it without direct I/O");
    }

    /**
     * A direct buffer of {@code size} bytes whose address is a multiple of {@code align} (a power of
     * two). {@link ByteBuffer#alignedSlice} also rounds the capacity down to a multiple of
     * {@code align}, hence the rounded-up allocation.
     */
    public static ByteBuffer alignedBuffer(int size, int align) {
        int rounded = (int) roundUp(size, align);
        return ByteBuffer.allocateDirect(rounded + align).alignedSlice(align).limit(size);
    }

    public Path path() {
        return path;
    }

    public boolean isBlockDevice() {
        return blockDevice;
    }

    public boolean isDirect() {
        return options.direct();
    }

    public boolean isReadOnly() {
        return options.readOnly();
    }

    /** Re-reads the size (online resize); after {@link #close()} the last size seen, since the descriptor number may be reused. */
    @Override
    public long sizeBytes() {
        if (closed.get()) {
            return cachedSize;
        }
        try {
            long size = LinuxIo.lseek64(fd, 0, LinuxIo.SEEK_END);
            cachedSize = size;
            return size;
        } catch (LastErrorException e) {
            throw new UncheckedIOException(new IOException("cannot read the size of " + path + ": " + e.getMessage(), e));
        }
    }

    @Override
    public int logicalBlockSize() {
        return logicalBlockSize;
    }

    @Override
    public int queueDepth() {
        return options.queueDepth();
    }

    @Override
    public boolean supportsDiscard() {
        return discardSupported;
    }

    @Override
    public CompletableFuture<Void> read(long offset, ByteBuffer dst) {
        ByteBuffer target = dst.duplicate();
        int length = target.remaining();
        BlockDeviceException refused = admit("read", offset, length, false);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        return workers.submit(() -> transfer(false, offset, target), t -> translate("read at offset " + offset, t));
    }

    @Override
    public CompletableFuture<Void> write(long offset, ByteBuffer src) {
        ByteBuffer source = src.duplicate();
        int length = source.remaining();
        BlockDeviceException refused = admit("write", offset, length, true);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        return workers.submit(() -> transfer(true, offset, source), t -> translate("write at offset " + offset, t));
    }

    @Override
    public CompletableFuture<Void> flush() {
        return workers.submit(() -> LinuxIo.fdatasync(fd), t -> translate("flush (fdatasync)", t));
    }

    @Override
    public CompletableFuture<Void> discard(long offset, long length) {
        if (options.readOnly()) {
            return CompletableFuture.failedFuture(readOnly("discard"));
        }
        if (!discardSupported) {
            return CompletableFuture.failedFuture(new BlockDeviceException(Reason.UNSUPPORTED,
                    name + " does not support discard (the file system or device refused it)"));
        }
        BlockDeviceException refused = checkRange(offset, length);
        if (refused != null) {
            return CompletableFuture.failedFuture(refused);
        }
        if (length == 0) {
            return CompletableFuture.completedFuture(null);
        }
        return workers.submit(() -> punch(offset, length), t -> translate("discard at offset " + offset, t));
    }

    /** Waits for queued and running requests, then closes the descriptor. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            workers.shutdownAndWait();
            closeQuietly(fd);
        }
    }

    @Override
    public String toString() {
        return name;
    }

    private BlockDeviceException admit(String op, long offset, int length, boolean writes) {
        if (writes && options.readOnly()) {
            return readOnly(op);
        }
        if (alignment > 1 && ((offset | length) & (alignment - 1)) != 0) {
            return new BlockDeviceException(Reason.MISALIGNED, name + ": " + op + " at offset " + offset + " length "
                    + length + " is not aligned to " + alignment + " bytes, which O_DIRECT requires");
        }
        return checkRange(offset, length);
    }

    private BlockDeviceException checkRange(long offset, long length) {
        if (DeviceRange.inside(offset, length, cachedSize)) {
            return null;
        }
        try {
            DeviceRange.check(name, offset, length, sizeBytes()); // the volume may have grown
            return null;
        } catch (BlockDeviceException e) {
            return e;
        } catch (UncheckedIOException e) {
            return new BlockDeviceException(Reason.IO_ERROR, e.getCause().getMessage(), e.getCause());
        }
    }

    private BlockDeviceException readOnly(String op) {
        return new BlockDeviceException(Reason.READ_ONLY, name + " is open read-only; " + op + " refused");
    }

    private void transfer(boolean write, long offset, ByteBuffer buf) throws BlockDeviceException {
        int length = buf.remaining();
        if (buf.isDirect() && isAligned(buf)) {
            Pointer p = Native.getDirectBufferPointer(buf).share(buf.position());
            loop(write, p, length, offset);
            return;
        }
        ByteBuffer b = bounceBuffer(length);
        Pointer p = Native.getDirectBufferPointer(b);
        if (write) {
            b.clear().put(buf.duplicate()).flip();
            loop(true, p, length, offset);
        } else {
            loop(false, p, length, offset);
            b.clear().limit(length);
            buf.duplicate().put(b);
        }
    }

    private boolean isAligned(ByteBuffer buf) {
        if (alignment == 1) {
            return true;
        }
        long address = Pointer.nativeValue(Native.getDirectBufferPointer(buf)) + buf.position();
        return (address & (alignment - 1)) == 0;
    }

    private ByteBuffer bounceBuffer(int length) {
        if (length > CACHED_BOUNCE_LIMIT) {
            return alignedBuffer(length, Math.max(alignment, 64));
        }
        ByteBuffer b = bounce.get();
        if (b == null || b.capacity() < length) {
            int size = Math.min(CACHED_BOUNCE_LIMIT, Math.max(length, 64 << 10));
            b = alignedBuffer(size, Math.max(alignment, 64));
            bounce.set(b);
        }
        return b;
    }

    /** pread/pwrite until all bytes moved: both may transfer less than asked (pread(2)), EINTR is retried. */
    private void loop(boolean write, Pointer p, int length, long offset) throws BlockDeviceException {
        long done = 0;
        while (done < length) {
            long n;
            try {
                n = write ? LinuxIo.pwrite64(fd, p.share(done), length - done, offset + done)
                        : LinuxIo.pread64(fd, p.share(done), length - done, offset + done);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LinuxIo.EINTR) {
                    continue;
                }
                throw e;
            }
            if (n <= 0) {
                throw new BlockDeviceException(Reason.IO_ERROR, name + ": " + (write ? "pwrite" : "pread")
                        + " at offset " + (offset + done) + " made no progress (did the file shrink under us?)");
            }
            done += n;
        }
    }

    private void punch(long offset, long length) throws BlockDeviceException {
        try {
            if (blockDevice) {
                long start = roundUp(offset, logicalBlockSize);
                long end = (offset + length) & -(long) logicalBlockSize;
                if (end <= start) {
                    return; // nothing whole to discard; discard is a hint for block devices
                }
                try (Memory range = new Memory(16)) {
                    range.setLong(0, start);
                    range.setLong(8, end - start);
                    LinuxIo.ioctl(fd, LinuxIo.BLKDISCARD, range);
                }
            } else {
                LinuxIo.fallocate64(fd, LinuxIo.FALLOC_FL_PUNCH_HOLE | LinuxIo.FALLOC_FL_KEEP_SIZE, offset, length);
            }
        } catch (LastErrorException e) {
            if (e.getErrorCode() == LinuxIo.EOPNOTSUPP) {
                discardSupported = false;
                throw new BlockDeviceException(Reason.UNSUPPORTED, name + " does not support discard ("
                        + (blockDevice ? "BLKDISCARD" : "fallocate PUNCH_HOLE") + ": " + e.getMessage() + ")", e);
            }
            throw e;
        }
    }

    private static long roundUp(long value, int unit) {
        return (value + unit - 1) & -(long) unit;
    }

    private Throwable translate(String what, Throwable t) {
        if (t instanceof BlockDeviceException) {
            return t;
        }
        if (t instanceof LastErrorException e) {
            int errno = e.getErrorCode();
            Reason reason = switch (errno) {
                case LinuxIo.ENOSPC, LinuxIo.EDQUOT, LinuxIo.EFBIG -> Reason.NO_SPACE;
                case LinuxIo.EOPNOTSUPP -> Reason.UNSUPPORTED;
                case LinuxIo.EINVAL -> alignment > 1 ? Reason.MISALIGNED : Reason.IO_ERROR;
                default -> Reason.IO_ERROR;
            };
            return new BlockDeviceException(reason, name + ": " + what + " failed: " + e.getMessage(), e);
        }
        return new BlockDeviceException(Reason.IO_ERROR, name + ": " + what + " failed: " + t, t);
    }

    private static void closeQuietly(int fd) {
        try {
            LinuxIo.close(fd);
        } catch (LastErrorException ignored) {
            // close(2): the descriptor is released even when close reports an error
        }
    }
}
