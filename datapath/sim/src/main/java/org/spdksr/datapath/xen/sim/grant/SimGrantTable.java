package org.spdksr.datapath.xen.sim.grant;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A simulated guest's grant table: a shared file of Xen v1 entries ({@code u16 flags, u16 domid,
 * u32 frame}, 8 bytes each). The guest writes entries; backends in other processes read them.
 * As in Xen, the flags and domid form one 32-bit word that is published after the frame.
 */
public final class SimGrantTable {
    public static final int ENTRY_SIZE = 8;
    /** Xen keeps the first 8 entries for the toolstack (GNTTAB_NR_RESERVED_ENTRIES); guests grant from 8. */
    public static final int FIRST_GUEST_REF = 8;
    private static final VarHandle WORD = MethodHandles.byteBufferViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private final Path file;
    private final MappedByteBuffer table;
    private final int entries;
    private final boolean writable;

    private SimGrantTable(Path file, MappedByteBuffer table, int entries, boolean writable) {
        this.file = file;
        this.table = table;
        this.entries = entries;
        this.writable = writable;
        table.order(ByteOrder.LITTLE_ENDIAN);
    }

    /** Creates an empty table of {@code entries} entries (all unused). */
    public static SimGrantTable create(Path file, int entries) throws IOException {
        if (entries <= FIRST_GUEST_REF) {
            throw new IllegalArgumentException("a grant table needs more than " + FIRST_GUEST_REF + " entries");
        }
        Files.createDirectories(file.getParent());
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ch.truncate((long) entries * ENTRY_SIZE);
            ch.write(java.nio.ByteBuffer.allocate(1), (long) entries * ENTRY_SIZE - 1);
            return new SimGrantTable(file, ch.map(FileChannel.MapMode.READ_WRITE, 0, (long) entries * ENTRY_SIZE),
                    entries, true);
        }
    }

    /** Opens an existing table; a backend opens it read-only, the guest writable. */
    public static SimGrantTable open(Path file, boolean writable) throws IOException {
        try (FileChannel ch = writable
                ? FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)
                : FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            return new SimGrantTable(file, ch.map(writable ? FileChannel.MapMode.READ_WRITE
                    : FileChannel.MapMode.READ_ONLY, 0, size), (int) (size / ENTRY_SIZE), writable);
        }
    }

    public int size() {
        return entries;
    }

    /** Grants {@code domid} access to {@code frame}; returns the reference to hand to that domain. */
    public synchronized int grant(int domid, int frame, boolean readOnly) {
        requireWritable();
        for (int ref = FIRST_GUEST_REF; ref < entries; ref++) {
            if ((int) WORD.getAcquire(table, ref * ENTRY_SIZE) == 0) {
                table.putInt(ref * ENTRY_SIZE + 4, frame);
                int flags = GrantEntry.GTF_PERMIT_ACCESS | (readOnly ? GrantEntry.GTF_READONLY : 0);
                // Publish flags+domid last, with release order, so a reader that sees them sees the frame.
                WORD.setRelease(table, ref * ENTRY_SIZE, flags | (domid << 16));
                return ref;
            }
        }
        throw new IllegalStateException("grant table " + file + " is full (" + entries
                + " entries); revoke grants or create the domain with a larger table");
    }

    /** Ends access: the entry becomes unused and later maps or copies of it fail. */
    public synchronized void revoke(int ref) {
        requireWritable();
        checkRef(ref);
        WORD.setRelease(table, ref * ENTRY_SIZE, 0);
    }

    public GrantEntry entry(int ref) {
        checkRef(ref);
        int word = (int) WORD.getAcquire(table, ref * ENTRY_SIZE);
        return new GrantEntry(word & 0xffff, word >>> 16, table.getInt(ref * ENTRY_SIZE + 4));
    }

    private void checkRef(int ref) {
        if (ref < 0 || ref >= entries) {
            throw new IndexOutOfBoundsException("grant ref " + ref + " outside table " + file + " of " + entries);
        }
    }

    private void requireWritable() {
        if (!writable) {
            throw new IllegalStateException("grant table " + file + " is open read-only; only its guest grants");
        }
    }
}
