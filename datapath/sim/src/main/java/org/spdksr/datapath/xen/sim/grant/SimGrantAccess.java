package org.spdksr.datapath.xen.sim.grant;

import com.sun.jna.LastErrorException;
import com.sun.jna.NativeLong;
import com.sun.jna.Pointer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.spdksr.datapath.xen.grant.CopyEndpoint;
import org.spdksr.datapath.xen.grant.CopySegment;
import org.spdksr.datapath.xen.grant.GrantAccess;
import org.spdksr.datapath.xen.grant.GrantException;
import org.spdksr.datapath.xen.grant.GrantMapping;
import org.spdksr.datapath.xen.grant.MappedPages;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.grant.GrantStatus;
import org.spdksr.datapath.xen.linux.LibC;
import org.spdksr.datapath.xen.sim.SimLayout;

/**
 * Grant access for a backend domain against simulated guests. Each grant is checked the way Xen's
 * grant_table.c checks it (the GNTST codes of blkif.md §2.1):
 * unknown domain: BAD_DOMAIN; ref outside the table: BAD_GNTREF; entry unused or granted to another
 * domain: GENERAL_ERROR; write access through a read-only grant: GENERAL_ERROR; frame outside the
 * guest's memory: BAD_PAGE. A batch maps contiguously: the pages of the guest's memory file are
 * mmapped MAP_SHARED|MAP_FIXED side by side into one reserved range, so the backend really shares
 * memory with the guest process. Every live mapping is recorded in {@link SimGrantMappings}, where
 * tests in any process count them.
 */
public final class SimGrantAccess implements GrantAccess {
    private final SimLayout layout;
    private final int selfDomid;
    private final LibC libc = LibC.load();
    private final Map<Integer, Guest> guests = new ConcurrentHashMap<>();
    private final SimGrantMappings mappings;

    /** {@code fileKey} identifies the grant-table file, so a destroyed and recreated domain is reopened. */
    private record Guest(SimGrantTable table, SimGuestMemory memory, Object fileKey) {
    }

    private record Resolved(GrantStatus status, int frame, String detail) {
    }

    public SimGrantAccess(SimLayout layout, int selfDomid) {
        this.layout = layout;
        this.selfDomid = selfDomid;
        this.mappings = new SimGrantMappings(layout);
    }

    private Guest guest(int domid) throws IOException {
        Object key;
        try {
            key = Files.readAttributes(layout.grantTableFile(domid), BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException e) {
            guests.remove(domid);
            return null;
        }
        Guest g = guests.get(domid);
        if (g == null || !g.fileKey().equals(key)) {
            g = new Guest(SimGrantTable.open(layout.grantTableFile(domid), false),
                    SimGuestMemory.open(layout.memoryFile(domid)), key);
            guests.put(domid, g);
        }
        return g;
    }

    private Resolved resolve(GrantRef r, boolean write) throws IOException {
        Guest g = guest(r.domid());
        if (g == null) {
            return new Resolved(GrantStatus.BAD_DOMAIN, -1, "no simulated domain " + r.domid() + " under "
                    + layout.root());
        }
        if (r.ref() < 0 || r.ref() >= g.table().size()) {
            return new Resolved(GrantStatus.BAD_GNTREF, -1, "the table has " + g.table().size() + " entries");
        }
        GrantEntry e = g.table().entry(r.ref());
        if (!e.permitsAccess() || e.domid() != selfDomid) {
            return new Resolved(GrantStatus.GENERAL_ERROR, -1, e.permitsAccess()
                    ? "granted to domain " + e.domid() + ", not to domain " + selfDomid
                    : "the entry is not in use (flags " + e.flags() + ")");
        }
        if (write && e.readOnly()) {
            return new Resolved(GrantStatus.GENERAL_ERROR, -1, "the grant is read-only; map it read-only");
        }
        if (e.frame() < 0 || e.frame() >= g.memory().pages()) {
            return new Resolved(GrantStatus.BAD_PAGE, -1, "frame " + e.frame() + " is outside the guest's memory");
        }
        return new Resolved(GrantStatus.OKAY, e.frame(), null);
    }

    @Override
    public GrantMapping map(List<GrantRef> refs, boolean writable) throws IOException {
        if (refs.isEmpty()) {
            throw new IllegalArgumentException("map needs at least one grant reference");
        }
        int[] frames = new int[refs.size()];
        for (int i = 0; i < refs.size(); i++) {
            Resolved r = resolve(refs.get(i), writable);
            if (!r.status().ok()) {
                throw new GrantException(r.status(), refs.get(i), r.detail());
            }
            frames[i] = r.frame();
        }
        long length = (long) refs.size() * GrantMapping.PAGE_SIZE;
        // Recorded before the pages are mapped and forgotten after they are unmapped, so a count
        // of live mappings (by this or any process) never misses one.
        List<SimGrantMappings.Registration> records = register(refs, writable);
        Pointer base;
        try {
            base = libc.mmap(null, new NativeLong(length), LibC.PROT_NONE,
                    LibC.MAP_PRIVATE | LibC.MAP_ANONYMOUS, -1, new NativeLong(0));
        } catch (LastErrorException e) {
            records.forEach(SimGrantMappings.Registration::close);
            throw new IOException("reserving " + length + " bytes of address space for " + refs.size()
                    + " grants failed: errno " + e.getErrorCode(), e);
        }
        int prot = writable ? LibC.PROT_READ | LibC.PROT_WRITE : LibC.PROT_READ;
        Map<Integer, Integer> fds = new java.util.HashMap<>();
        try {
            for (int i = 0; i < refs.size(); i++) {
                int domid = refs.get(i).domid();
                Integer fd = fds.get(domid);
                if (fd == null) {
                    fd = libc.open(layout.memoryFile(domid).toString(),
                            (writable ? LibC.O_RDWR : LibC.O_RDONLY) | LibC.O_CLOEXEC);
                    fds.put(domid, fd);
                }
                libc.mmap(base.share((long) i * GrantMapping.PAGE_SIZE), new NativeLong(GrantMapping.PAGE_SIZE),
                        prot, LibC.MAP_SHARED | LibC.MAP_FIXED, fd,
                        new NativeLong((long) frames[i] * GrantMapping.PAGE_SIZE));
            }
        } catch (LastErrorException e) {
            libc.munmap(base, new NativeLong(length));
            records.forEach(SimGrantMappings.Registration::close);
            throw new IOException("mapping guest memory for " + refs.size() + " grants failed: errno "
                    + e.getErrorCode(), e);
        } finally {
            for (int fd : fds.values()) {
                libc.close(fd);
            }
        }
        ByteBuffer buf = base.getByteBuffer(0, length);
        return new MappedPages(refs, writable, writable ? buf : buf.asReadOnlyBuffer(),
                () -> {
                    libc.munmap(base, new NativeLong(length));
                    records.forEach(SimGrantMappings.Registration::close);
                });
    }

    private List<SimGrantMappings.Registration> register(List<GrantRef> refs, boolean writable) throws IOException {
        List<SimGrantMappings.Registration> records = new ArrayList<>();
        try {
            for (int domid : refs.stream().mapToInt(GrantRef::domid).distinct().toArray()) {
                records.add(mappings.register(domid, refs, writable));
            }
        } catch (IOException | RuntimeException e) {
            records.forEach(SimGrantMappings.Registration::close);
            throw e;
        }
        return records;
    }

    /** What of {@code domid}'s grants this host's processes (this one or any other) keep mapped now. */
    public List<String> liveMappings(int domid) {
        return SimGrantMappings.live(layout, domid);
    }

    @Override
    public List<GrantStatus> copy(List<CopySegment> segments) throws IOException {
        List<GrantStatus> out = new ArrayList<>(segments.size());
        for (CopySegment s : segments) {
            out.add(copyOne(s));
        }
        return out;
    }

    private GrantStatus copyOne(CopySegment s) throws IOException {
        ByteBuffer src = side(s.source(), false, s.length());
        if (src == null) {
            return lastStatus(s.source(), false);
        }
        ByteBuffer dst = side(s.dest(), true, s.length());
        if (dst == null) {
            return lastStatus(s.dest(), true);
        }
        dst.put(src);
        return GrantStatus.OKAY;
    }

    private GrantStatus lastStatus(CopyEndpoint e, boolean write) throws IOException {
        return resolve(((CopyEndpoint.Foreign) e).ref(), write).status();
    }

    /** The bytes of one side, or null when the grant is refused. */
    private ByteBuffer side(CopyEndpoint e, boolean write, int length) throws IOException {
        if (e instanceof CopyEndpoint.Local l) {
            return l.buffer().duplicate().clear().position(l.offset()).limit(l.offset() + length);
        }
        CopyEndpoint.Foreign f = (CopyEndpoint.Foreign) e;
        Resolved r = resolve(f.ref(), write);
        if (!r.status().ok()) {
            return null;
        }
        return guest(f.ref().domid()).memory().page(r.frame()).position(f.offset()).limit(f.offset() + length);
    }

    @Override
    public void close() {
        guests.clear();
    }
}
