package org.spdksr.datapath.vhost;

import com.sun.jna.LastErrorException;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import org.spdksr.datapath.vhost.VhostDeviceOptions.Backing;

/**
 * The memory shared with the back end: one memfd, mapped {@code MAP_SHARED} here and sent to the
 * back end by SET_MEM_TABLE, which maps it too (vhost-user spec, "Memory regions"). Rings and
 * request buffers all live in it, and its addresses are used as "guest physical" addresses too
 * (identity mapping, as DPDK's virtio-user does), so descriptor addresses are plain pointers.
 */
final class SharedRegion implements AutoCloseable {
    private final int fd;
    private final Pointer base;
    private final long size;
    private final Backing backing;
    private final ByteBuffer buffer;

    private SharedRegion(int fd, Pointer base, long size, Backing backing) {
        this.fd = fd;
        this.base = base;
        this.size = size;
        this.backing = backing;
        this.buffer = base.getByteBuffer(0, size).order(ByteOrder.LITTLE_ENDIAN);
    }

    static SharedRegion create(String name, Backing backing, long size) throws IOException {
        if (!"amd64".equals(System.getProperty("os.arch")) && !"x86_64".equals(System.getProperty("os.arch"))) {
            throw new IOException("the vhost-user front end supports x86_64 only (memfd_create syscall number, struct layouts); this JVM runs on "
                    + System.getProperty("os.arch"));
        }
        int flags = Libc.MFD_CLOEXEC | (backing == Backing.HUGETLB ? Libc.MFD_HUGETLB | Libc.MFD_HUGE_2MB : 0);
        String what = backing == Backing.HUGETLB ? "hugetlb memfd (2 MiB pages)" : "plain memfd";
        int fd;
        try {
            fd = (int) Libc.syscall(Libc.SYS_MEMFD_CREATE, name, flags);
        } catch (LastErrorException e) {
            String hint = switch (e.getErrorCode()) {
                case Libc.ENOSYS -> "this kernel has no memfd_create (Linux 3.17+ needed)";
                case Libc.EINVAL -> backing == Backing.HUGETLB
                        ? "this kernel cannot back a memfd with hugepages (Linux 4.14+ needed); use plain memory"
                        : "the kernel refused the flags";
                default -> "check the process's file descriptor limit (ulimit -n)";
            };
            throw new IOException("cannot create the shared region " + name + " as a " + what + ": " + e.getMessage() + "; " + hint, e);
        }
        try {
            Libc.ftruncate64(fd, size);
        } catch (LastErrorException e) {
            Libc.closeQuietly(fd);
            throw new IOException("cannot size the shared region " + name + " (" + what + ") to " + size + " bytes: "
                    + e.getMessage() + hint(backing, size), e);
        }
        Pointer base;
        try {
            // MAP_POPULATE faults every page in now: a missing hugepage then fails here with ENOMEM
            // instead of killing the process with SIGBUS on first touch (hugetlbfs reservation rules).
            base = Libc.mmap64(null, size, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_SHARED | Libc.MAP_POPULATE, fd, 0);
        } catch (LastErrorException e) {
            Libc.closeQuietly(fd);
            throw new IOException("cannot map the shared region " + name + " (" + what + ", " + size + " bytes): "
                    + e.getMessage() + hint(backing, size), e);
        }
        if (Pointer.nativeValue(base) == Libc.MAP_FAILED) {
            Libc.closeQuietly(fd);
            throw new IOException("cannot map the shared region " + name + " (" + what + ")" + hint(backing, size));
        }
        return new SharedRegion(fd, base, size, backing);
    }

    private static String hint(Backing backing, long size) {
        if (backing == Backing.HUGETLB) {
            long pages = size / VhostDeviceOptions.HUGE_PAGE;
            return "; not enough free 2 MiB hugepages (" + pages + " needed, see HugePages_Free in /proc/meminfo):"
                    + " reserve more with 'echo N > /proc/sys/vm/nr_hugepages', or use plain memory (backing PLAIN)";
        }
        return "; the host is out of memory or the memlock/address-space limit is too low: use a smaller region";
    }

    int fd() {
        return fd;
    }

    long size() {
        return size;
    }

    Backing backing() {
        return backing;
    }

    /** The address of byte 0 in this process, which is also its address in the memory table. */
    long address() {
        return Pointer.nativeValue(base);
    }

    /** The whole region, little-endian (virtio 1.x structures are little-endian, virtio 1.2 §2.7). */
    ByteBuffer buffer() {
        return buffer;
    }

    /** True when the {@code length} bytes at native address {@code address} lie inside the region. */
    boolean contains(long address, long length) {
        long start = address();
        return address >= start && length >= 0 && address - start <= size - length;
    }

    @Override
    public void close() {
        try {
            Libc.munmap(base, size);
        } catch (LastErrorException ignored) {
            // Only fails for bad arguments, which we never pass.
        }
        Libc.closeQuietly(fd);
    }
}
