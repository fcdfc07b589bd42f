package org.spdksr.volume.file;

import com.sun.jna.LastErrorException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * Copies and measures sparse raw files without filling their holes. A copy tries, in order: a
 * reflink clone ({@code FICLONE}, instant and space-sharing), {@code copy_file_range} over each
 * data extent found with {@code SEEK_DATA}/{@code SEEK_HOLE}, and a read/write loop over the same
 * extents where the kernel offers neither.
 */
public final class SparseFiles {
    private static final int COPY_CHUNK = 8 << 20;

    private final LibC libc;

    public SparseFiles() {
        this(LibC.load());
    }

    SparseFiles(LibC libc) {
        this.libc = libc;
    }

    /** How a copy was made; reported in the log, and lets tests see which path ran. */
    public enum CopyMethod { REFLINK, COPY_FILE_RANGE, READ_WRITE }

    /** A run of bytes that may hold data; everything between extents reads as zeros. */
    public record Extent(long offset, long length) {}

    /**
     * Makes {@code target} (which must not exist) a copy of {@code source}, with the same length and
     * holes where the source has holes.
     */
    public CopyMethod copy(Path source, Path target) throws IOException {
        int in = open(source, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        try {
            int out = open(target, LibC.O_WRONLY | LibC.O_CREAT | LibC.O_EXCL | LibC.O_CLOEXEC, 0600);
            try {
                CopyMethod method = copy(in, out, source, target);
                libc.fsync(out);
                return method;
            } catch (LastErrorException e) {
                throw ioFailure("copy " + source + " to " + target, e);
            } finally {
                libc.close(out);
            }
        } finally {
            libc.close(in);
        }
    }

    private CopyMethod copy(int in, int out, Path source, Path target) throws IOException {
        try {
            libc.ioctl(out, LibC.FICLONE, in);
            return CopyMethod.REFLINK;
        } catch (LastErrorException e) {
            if (!isUnsupported(e.getErrorCode())) {
                throw ioFailure("clone " + source + " to " + target, e);
            }
        }
        long size = size(in, source);
        libc.ftruncate(out, size);
        List<Extent> extents = dataExtents(in, size, source);
        CopyMethod method = CopyMethod.COPY_FILE_RANGE;
        for (Extent extent : extents) {
            if (method == CopyMethod.COPY_FILE_RANGE && !copyFileRange(in, out, extent)) {
                method = CopyMethod.READ_WRITE;
            }
            if (method == CopyMethod.READ_WRITE) {
                readWrite(source, target, extent);
            }
        }
        return method;
    }

    /** @return false when the kernel or file system cannot do it, so the caller falls back */
    private boolean copyFileRange(int in, int out, Extent extent) throws IOException {
        long[] inOffset = {extent.offset()};
        long[] outOffset = {extent.offset()};
        long remaining = extent.length();
        while (remaining > 0) {
            long copied;
            try {
                copied = libc.syscall(LibC.SYS_COPY_FILE_RANGE, in, inOffset, out, outOffset, remaining, 0);
            } catch (LastErrorException e) {
                if (isUnsupported(e.getErrorCode()) && inOffset[0] == extent.offset()) {
                    return false;
                }
                throw ioFailure("copy_file_range at offset " + inOffset[0], e);
            }
            if (copied == 0) {
                throw new IOException("source shrank during copy at offset " + inOffset[0]);
            }
            remaining -= copied;
        }
        return true;
    }

    private static void readWrite(Path source, Path target, Extent extent) throws IOException {
        try (FileChannel in = FileChannel.open(source, StandardOpenOption.READ);
                FileChannel out = FileChannel.open(target, StandardOpenOption.WRITE)) {
            ByteBuffer buffer = ByteBuffer.allocateDirect((int) Math.min(COPY_CHUNK, Math.max(extent.length(), 1)));
            long position = extent.offset();
            long end = extent.offset() + extent.length();
            while (position < end) {
                buffer.clear().limit((int) Math.min(buffer.capacity(), end - position));
                int read = in.read(buffer, position);
                if (read < 0) {
                    throw new IOException(source + " shrank during copy at offset " + position);
                }
                buffer.flip();
                while (buffer.hasRemaining()) {
                    position += out.write(buffer, position);
                }
            }
        }
    }

    /** The data extents of a file; on a file system without SEEK_DATA, the whole file is one extent. */
    public List<Extent> dataExtents(Path file) throws IOException {
        int fd = open(file, LibC.O_RDONLY | LibC.O_CLOEXEC, 0);
        try {
            return dataExtents(fd, size(fd, file), file);
        } finally {
            libc.close(fd);
        }
    }

    /** Bytes of the file that hold data (an upper bound of the blocks allocated to it). */
    public long allocatedBytes(Path file) throws IOException {
        return dataExtents(file).stream().mapToLong(Extent::length).sum();
    }

    private List<Extent> dataExtents(int fd, long size, Path file) throws IOException {
        List<Extent> extents = new ArrayList<>();
        long position = 0;
        while (position < size) {
            long dataStart;
            try {
                dataStart = libc.lseek(fd, position, LibC.SEEK_DATA);
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.ENXIO) {
                    break; // no data after position: the rest is a hole
                }
                if (e.getErrorCode() == LibC.EINVAL && position == 0) {
                    extents.add(new Extent(0, size)); // file system without hole reporting
                    return extents;
                }
                throw ioFailure("seek for data in " + file, e);
            }
            long holeStart;
            try {
                holeStart = libc.lseek(fd, dataStart, LibC.SEEK_HOLE);
            } catch (LastErrorException e) {
                throw ioFailure("seek for a hole in " + file, e);
            }
            holeStart = Math.min(holeStart, size);
            if (holeStart > dataStart) {
                extents.add(new Extent(dataStart, holeStart - dataStart));
            }
            position = holeStart;
        }
        return extents;
    }

    private long size(int fd, Path file) throws IOException {
        try {
            return libc.lseek(fd, 0, 2 /* SEEK_END */);
        } catch (LastErrorException e) {
            throw ioFailure("find the size of " + file, e);
        }
    }

    private int open(Path path, int flags, int mode) throws IOException {
        try {
            return libc.open(path.toString(), flags, mode);
        } catch (LastErrorException e) {
            throw ioFailure("open " + path, e);
        }
    }

    private static boolean isUnsupported(int errno) {
        return errno == LibC.EOPNOTSUPP || errno == LibC.EXDEV || errno == LibC.EINVAL || errno == LibC.ENOSYS
                || errno == LibC.ENOTTY;
    }

    private static IOException ioFailure(String what, LastErrorException e) {
        return new IOException("cannot " + what + ": errno " + e.getErrorCode() + " (" + e.getMessage() + ")", e);
    }
}
