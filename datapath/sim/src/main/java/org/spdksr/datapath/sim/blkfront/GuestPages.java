package org.spdksr.datapath.sim.blkfront;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.util.BitSet;
import org.spdksr.datapath.xen.sim.grant.SimGuestMemory;

/**
 * The guest kernel's page allocator over a simulated domain's memory: ring pages, data pages and
 * indirect descriptor pages come from here. One instance per guest process, shared by all its
 * frontends. Runs of pages are contiguous so a multi-page ring can be one buffer.
 */
public final class GuestPages {
    public static final int PAGE_SIZE = SimGuestMemory.PAGE_SIZE;

    private final SimGuestMemory memory;
    private final int firstFrame;
    private final BitSet used = new BitSet();

    /** @param firstFrame frames below it are left to the caller (e.g. fixed test pages) */
    public GuestPages(SimGuestMemory memory, int firstFrame) {
        if (firstFrame < 0 || firstFrame >= memory.pages()) {
            throw new IllegalArgumentException("first frame " + firstFrame + " outside " + memory.pages() + " pages");
        }
        this.memory = memory;
        this.firstFrame = firstFrame;
    }

    /** Allocates {@code count} contiguous frames; returns the first. */
    public synchronized int allocate(int count) {
        int start = firstFrame;
        while (start + count <= memory.pages()) {
            int busy = used.nextSetBit(start);
            if (busy < 0 || busy >= start + count) {
                used.set(start, start + count);
                return start;
            }
            start = used.nextClearBit(busy);
        }
        throw new IllegalStateException("guest memory " + memory.file() + " has no " + count
                + " free contiguous pages (" + used.cardinality() + " of " + (memory.pages() - firstFrame)
                + " in use); create the domain with more pages");
    }

    public synchronized void free(int frame, int count) {
        if (used.nextClearBit(frame) < frame + count) {
            throw new IllegalStateException("freeing frames " + frame + ".." + (frame + count - 1)
                    + " that are not all allocated");
        }
        used.clear(frame, frame + count);
    }

    public synchronized int inUse() {
        return used.cardinality();
    }

    /** One page, writing straight into guest memory. */
    public ByteBuffer page(int frame) {
        return memory.page(frame);
    }

    /** {@code count} contiguous frames as one direct buffer over the shared memory file. */
    public ByteBuffer map(int frame, int count) {
        try (FileChannel ch = FileChannel.open(memory.file(), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return ch.map(FileChannel.MapMode.READ_WRITE, (long) frame * PAGE_SIZE, (long) count * PAGE_SIZE);
        } catch (IOException e) {
            throw new UncheckedIOException("mapping frames " + frame + "+" + count + " of " + memory.file(), e);
        }
    }
}
