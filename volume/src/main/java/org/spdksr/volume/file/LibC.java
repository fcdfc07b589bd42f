package org.spdksr.volume.file;

import com.sun.jna.Library;
import com.sun.jna.LastErrorException;
import com.sun.jna.Native;

/**
 * The few libc calls Java has no API for: reflink clone, hole-aware seeking and in-kernel copy.
 * Only symbols present in glibc 2.17 (XCP-ng 8.x dom0, xcp-ng-host.md §1.1) are bound here;
 * {@code copy_file_range} is reached through {@code syscall} because glibc gained a wrapper only
 * in 2.27.
 */
interface LibC extends Library {
    int O_RDONLY = 0;
    int O_WRONLY = 1;
    int O_RDWR = 2;
    int O_CREAT = 0100;
    int O_EXCL = 0200;
    int O_CLOEXEC = 02000000;

    int SEEK_DATA = 3;
    int SEEK_HOLE = 4;

    int ENXIO = 6;
    int EXDEV = 18;
    int EINVAL = 22;
    int ENOSYS = 38;
    int EOPNOTSUPP = 95;
    int ENOTTY = 25;

    /** {@code _IOW(0x94, 9, int)}: share all extents of the source fd (btrfs, XFS with reflink). */
    long FICLONE = 0x40049409L;

    /** x86_64 system call number of copy_file_range. */
    long SYS_COPY_FILE_RANGE = 326;

    static LibC load() {
        return Native.load("c", LibC.class);
    }

    int open(String path, int flags, int mode) throws LastErrorException;

    int close(int fd) throws LastErrorException;

    int ioctl(int fd, long request, long argument) throws LastErrorException;

    long lseek(int fd, long offset, int whence) throws LastErrorException;

    int ftruncate(int fd, long length) throws LastErrorException;

    int fsync(int fd) throws LastErrorException;

    /** {@code syscall(SYS_copy_file_range, in, NULL, out, NULL, len, 0)} with explicit offsets. */
    long syscall(long number, int fdIn, long[] offIn, int fdOut, long[] offOut, long length, int flags)
            throws LastErrorException;
}
