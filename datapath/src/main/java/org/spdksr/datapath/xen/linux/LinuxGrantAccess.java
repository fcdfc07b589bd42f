package org.spdksr.datapath.xen.linux;

import com.sun.jna.LastErrorException;
import com.sun.jna.Native;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.spdksr.datapath.xen.grant.CopyEndpoint;
import org.spdksr.datapath.xen.grant.CopySegment;
import org.spdksr.datapath.xen.grant.GrantAccess;
import org.spdksr.datapath.xen.grant.GrantException;
import org.spdksr.datapath.xen.grant.GrantMapping;
import org.spdksr.datapath.xen.grant.MappedPages;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.grant.GrantStatus;

/** Grant access through {@code /dev/xen/gntdev} (blkif.md §2). */
public final class LinuxGrantAccess implements GrantAccess {
    public static final String DEVICE = "/dev/xen/gntdev";
    /** libxengnttab retries an mmap that fails with EAGAIN (paged-out page) after 1 ms (blkif.md §2.2). */
    private static final int MMAP_EAGAIN_RETRIES = 100;

    private final LibC libc;
    private final int fd;
    private final AtomicBoolean closed = new AtomicBoolean();

    private LinuxGrantAccess(LibC libc, int fd) {
        this.libc = libc;
        this.fd = fd;
    }

    public static LinuxGrantAccess open() throws IOException {
        LibC libc = LibC.load();
        try {
            return new LinuxGrantAccess(libc, libc.open(DEVICE, LibC.O_RDWR | LibC.O_CLOEXEC));
        } catch (LastErrorException e) {
            throw new IOException("cannot open " + DEVICE + ": errno " + e.getErrorCode()
                    + "; this needs a Xen dom0 with the xen-gntdev module loaded, run as root", e);
        }
    }

    @Override
    public GrantMapping map(List<GrantRef> refs, boolean writable) throws IOException {
        if (refs.isEmpty()) {
            throw new IllegalArgumentException("map needs at least one grant reference");
        }
        ByteBuffer req = GntdevAbi.mapRequest(refs);
        try {
            libc.ioctl(fd, new NativeLong(GntdevAbi.IOCTL_MAP_GRANT_REF), Native.getDirectBufferPointer(req));
        } catch (LastErrorException e) {
            throw new IOException("IOCTL_GNTDEV_MAP_GRANT_REF for " + refs.size() + " grants starting with "
                    + refs.get(0) + " failed: errno " + e.getErrorCode()
                    + " (gntdev.limit is 65536 grants per request, blkif.md §2.2)", e);
        }
        long index = GntdevAbi.mapIndex(req);
        long length = (long) refs.size() * GrantMapping.PAGE_SIZE;
        // blkif.md §2.2 step 2: PROT_READ alone gives a read-only grant map; writable needs MAP_SHARED.
        int prot = writable ? LibC.PROT_READ | LibC.PROT_WRITE : LibC.PROT_READ;
        Pointer addr = null;
        for (int attempt = 0; addr == null; attempt++) {
            try {
                addr = libc.mmap(null, new NativeLong(length), prot, LibC.MAP_SHARED, fd, new NativeLong(index));
            } catch (LastErrorException e) {
                if (e.getErrorCode() == LibC.EAGAIN && attempt < MMAP_EAGAIN_RETRIES) {
                    sleepMilli();
                    continue;
                }
                unmapSlots(index, refs.size());
                // The grant map hypercall happens inside mmap; the driver reports a refused grant as an errno only.
                throw new GrantException(GrantStatus.GENERAL_ERROR, refs.get(0), "mmap of " + refs.size()
                        + (writable ? " writable" : " read-only") + " grants failed with errno " + e.getErrorCode()
                        + "; check that the guest granted every ref to this domain"
                        + (writable ? " and not read-only" : ""));
            }
        }
        Pointer mapped = addr;
        ByteBuffer buf = mapped.getByteBuffer(0, length);
        int count = refs.size();
        return new MappedPages(refs, writable, writable ? buf : buf.asReadOnlyBuffer(), () -> {
            // blkif.md §2.2 step 3: munmap first, then release the slot range.
            libc.munmap(mapped, new NativeLong(length));
            unmapSlots(index, count);
        });
    }

    private static void sleepMilli() throws IOException {
        try {
            Thread.sleep(1);
        } catch (InterruptedException ie) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while retrying a grant mmap");
        }
    }

    private void unmapSlots(long index, int count) {
        try {
            ByteBuffer req = GntdevAbi.unmapRequest(index, count);
            libc.ioctl(fd, new NativeLong(GntdevAbi.IOCTL_UNMAP_GRANT_REF), Native.getDirectBufferPointer(req));
            Reference.reachabilityFence(req);
        } catch (LastErrorException e) {
            throw new IllegalStateException("IOCTL_GNTDEV_UNMAP_GRANT_REF index " + index + " count " + count
                    + " failed: errno " + e.getErrorCode(), e);
        }
    }

    @Override
    public List<GrantStatus> copy(List<CopySegment> segments) throws IOException {
        if (segments.isEmpty()) {
            return List.of();
        }
        ByteBuffer segs = GntdevAbi.segments(segments.size());
        for (int i = 0; i < segments.size(); i++) {
            CopySegment s = segments.get(i);
            int at = i * GntdevAbi.SEG_SIZE;
            int flags = 0;
            flags |= putSide(segs, at + GntdevAbi.SEG_SOURCE, s.source()) ? GntdevAbi.GNTCOPY_SOURCE_GREF : 0;
            flags |= putSide(segs, at + GntdevAbi.SEG_DEST, s.dest()) ? GntdevAbi.GNTCOPY_DEST_GREF : 0;
            segs.putShort(at + GntdevAbi.SEG_LEN, (short) s.length());
            segs.putShort(at + GntdevAbi.SEG_FLAGS, (short) flags);
        }
        ByteBuffer req = GntdevAbi.copyRequest(segments.size(),
                Pointer.nativeValue(Native.getDirectBufferPointer(segs)));
        try {
            libc.ioctl(fd, new NativeLong(GntdevAbi.IOCTL_GRANT_COPY), Native.getDirectBufferPointer(req));
            // The kernel reads these through raw addresses; keep the buffers alive until it is done.
            Reference.reachabilityFence(req);
            Reference.reachabilityFence(segments);
        } catch (LastErrorException e) {
            throw new IOException("IOCTL_GNTDEV_GRANT_COPY of " + segments.size() + " segments failed: errno "
                    + e.getErrorCode() + " (EINVAL: a grant side crosses its page, or both sides are local)", e);
        }
        List<GrantStatus> out = new ArrayList<>(segments.size());
        for (int i = 0; i < segments.size(); i++) {
            // blkif.md §2.1: the ioctl succeeding says nothing about each segment; read every status.
            out.add(GrantStatus.fromCode(segs.getShort(i * GntdevAbi.SEG_SIZE + GntdevAbi.SEG_STATUS)));
        }
        return out;
    }

    /** Fills one union side; returns true when it names a grant. */
    private static boolean putSide(ByteBuffer segs, int at, CopyEndpoint side) {
        if (side instanceof CopyEndpoint.Foreign f) {
            GntdevAbi.putForeign(segs, at, f.ref(), f.offset());
            return true;
        }
        CopyEndpoint.Local l = (CopyEndpoint.Local) side;
        if (!l.buffer().isDirect()) {
            throw new IllegalArgumentException("grant copy needs a direct ByteBuffer for the local side");
        }
        segs.putLong(at, Pointer.nativeValue(Native.getDirectBufferPointer(l.buffer())) + l.offset());
        return false;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            // blkif.md §2.2 step 6: closing the fd unmaps whatever is left.
            libc.close(fd);
        }
    }
}
