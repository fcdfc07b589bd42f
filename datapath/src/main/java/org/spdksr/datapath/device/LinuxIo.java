package org.spdksr.datapath.device;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * The few glibc calls {@link FileBlockDevice} needs, bound with JNA direct mapping (cheaper per
 * call than interface mapping, which matters on the I/O path). Only symbols that glibc 2.17 (the
 * oldest dom0 we target) exports are used; sizes follow the x86_64 LP64 ABI ({@code size_t},
 * {@code off_t} and {@code unsigned long} are 64 bits). Constants are the Linux x86_64 values from
 * {@code <fcntl.h>}, {@code <linux/falloc.h>} and {@code <linux/fs.h>}.
 */
final class LinuxIo {
    static final int O_RDONLY = 0;
    static final int O_RDWR = 2;
    static final int O_DIRECT = 0x4000; // 040000 on x86_64
    static final int O_CLOEXEC = 0x80000; // 02000000

    static final int SEEK_END = 2;

    static final int FALLOC_FL_KEEP_SIZE = 0x01;
    static final int FALLOC_FL_PUNCH_HOLE = 0x02;

    /** {@code _IO(0x12, 119)}: discard a byte range of a block device; arg is {@code uint64_t[2]} {start, length}. */
    static final long BLKDISCARD = 0x1277;
    /** {@code _IO(0x12, 104)}: logical sector size of a block device, as an int. */
    static final long BLKSSZGET = 0x1268;

    static final int EINTR = 4;
    static final int EIO = 5;
    static final int EINVAL = 22;
    static final int EFBIG = 27;
    static final int ENOSPC = 28;
    static final int EOPNOTSUPP = 95;
    static final int EDQUOT = 122;

    static {
        Native.register(LinuxIo.class, NativeLibrary.getInstance("c"));
    }

    private LinuxIo() {
    }

    // open is variadic in C; passing the mode as a fixed int argument is what every JNA binding
    // does and is sound on x86_64 (the callee reads it from the same register).
    static native int open(String path, int flags, int mode) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native long pread64(int fd, Pointer buf, long count, long offset) throws LastErrorException;

    static native long pwrite64(int fd, Pointer buf, long count, long offset) throws LastErrorException;

    static native long lseek64(int fd, long offset, int whence) throws LastErrorException;

    static native int fdatasync(int fd) throws LastErrorException;

    static native int fallocate64(int fd, int mode, long offset, long len) throws LastErrorException;

    static native int ioctl(int fd, long request, Pointer arg) throws LastErrorException;
}
