package org.spdksr.datapath.vhost;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Pointer;

/**
 * The glibc calls the vhost-user front end needs, bound with JNA direct mapping like
 * {@code device.LinuxIo}. Only symbols exported by glibc 2.17 (the oldest XCP-ng dom0) are used:
 * {@code memfd_create} has no wrapper there (added in glibc 2.27), so it goes through
 * {@code syscall(2)}. Sizes follow the x86_64 LP64 ABI; constants are the Linux x86_64 values.
 */
final class Libc {
    /** {@code __NR_memfd_create} on x86_64 (arch/x86/entry/syscalls/syscall_64.tbl); Linux 3.17+. */
    static final long SYS_MEMFD_CREATE = 319;
    static final int MFD_CLOEXEC = 0x1;
    /** Linux 4.14+. */
    static final int MFD_HUGETLB = 0x4;
    /** {@code MFD_HUGE_2MB = 21 << MFD_HUGE_SHIFT(26)}: the page size, log2. */
    static final int MFD_HUGE_2MB = 21 << 26;

    static final int PROT_READ = 0x1;
    static final int PROT_WRITE = 0x2;
    static final int MAP_SHARED = 0x01;
    static final int MAP_POPULATE = 0x8000;
    static final long MAP_FAILED = -1L;

    static final int EFD_NONBLOCK = 0x800;
    static final int EFD_CLOEXEC = 0x80000;

    static final int AF_UNIX = 1;
    static final int SOCK_STREAM = 1;
    static final int SOCK_CLOEXEC = 0x80000;
    static final int SOL_SOCKET = 1;
    static final int SCM_RIGHTS = 1;
    /** Never raise SIGPIPE on a peer that went away: the error comes back as EPIPE instead. */
    static final int MSG_NOSIGNAL = 0x4000;
    static final int MSG_CMSG_CLOEXEC = 0x40000000;
    static final int MSG_CTRUNC = 0x8;
    static final int SHUT_RDWR = 2;

    static final short POLLIN = 0x1;
    static final short POLLERR = 0x8;
    static final short POLLHUP = 0x10;
    static final short POLLNVAL = 0x20;
    static final short POLLRDHUP = 0x2000;

    static final int EINTR = 4;
    static final int EAGAIN = 11;
    static final int ENOMEM = 12;
    static final int EINVAL = 22;
    static final int ENOENT = 2;
    static final int ECONNREFUSED = 111;
    static final int ENOSYS = 38;

    static {
        Native.register(Libc.class, NativeLibrary.getInstance("c"));
    }

    private Libc() {
    }

    // syscall is variadic in C; fixed integer/pointer arguments land in the same registers on
    // x86_64, and glibc's syscall() is assembly that never reads %al.
    static native long syscall(long number, String name, int flags) throws LastErrorException;

    static native int ftruncate64(int fd, long length) throws LastErrorException;

    static native Pointer mmap64(Pointer addr, long length, int prot, int flags, int fd, long offset)
            throws LastErrorException;

    static native int munmap(Pointer addr, long length) throws LastErrorException;

    static native int eventfd(int initval, int flags) throws LastErrorException;

    static native long read(int fd, Pointer buf, long count) throws LastErrorException;

    static native long write(int fd, Pointer buf, long count) throws LastErrorException;

    /** eventfd counters: a primitive array avoids a native allocation per kick. */
    static native long read(int fd, long[] value, long count) throws LastErrorException;

    static native long write(int fd, long[] value, long count) throws LastErrorException;

    static native int close(int fd) throws LastErrorException;

    static native int socket(int domain, int type, int protocol) throws LastErrorException;

    static native int connect(int fd, Pointer addr, int addrlen) throws LastErrorException;

    static native int shutdown(int fd, int how) throws LastErrorException;

    static native long sendmsg(int fd, Pointer msg, int flags) throws LastErrorException;

    static native long recvmsg(int fd, Pointer msg, int flags) throws LastErrorException;

    static native int poll(Pointer fds, long nfds, int timeoutMillis) throws LastErrorException;

    static void closeQuietly(int fd) {
        if (fd >= 0) {
            try {
                close(fd);
            } catch (LastErrorException ignored) {
                // Nothing useful to do: the descriptor is gone either way (close(2), "Dealing with error returns").
            }
        }
    }
}
