package org.spdksr.datapath.vhost;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The driver side of one split virtqueue (virtio 1.2 §2.7) in the shared region: descriptor
 * table, available ring (we write), used ring (the back end writes), plus one indirect table and
 * one small scratch area per descriptor head for the layer above (request header and status).
 *
 * <p>Which descriptors are free is kept in Java arrays, never read back from shared memory: the
 * back end only ever tells us a head index, and that index is checked against what we put in
 * flight (§2.7.8: the device reports heads; a bad one is a broken device, not a crash here).
 *
 * <p>Memory ordering (§2.7.13): descriptors and the ring entry are written with plain stores,
 * then {@code avail.idx} with a release store so the back end sees them before the index; a
 * full fence separates that store from reading the back end's notification suppression
 * ({@code used.flags} or {@code avail_event}), otherwise both sides can miss each other's update
 * (the classic lost wake-up that Linux's {@code virtio_mb} prevents). {@code used.idx} is read
 * with acquire so the entries it covers are read after it.
 *
 * <p>Not thread-safe: the caller serialises every call (one lock per queue).
 */
final class SplitVirtqueue {
    static final int DESC_SIZE = 16;
    static final short VIRTQ_DESC_F_NEXT = 1;
    static final short VIRTQ_DESC_F_WRITE = 2;
    static final short VIRTQ_DESC_F_INDIRECT = 4;
    /** used.flags bit: the device does not want kicks (§2.7.10, without EVENT_IDX). */
    static final int VIRTQ_USED_F_NO_NOTIFY = 1;

    private static final VarHandle SHORT = MethodHandles.byteBufferViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    /** One buffer of a chain: region offset, length, and whether the device writes it. */
    record Buffer(long offset, int length, boolean deviceWrites) {
    }

    /** Where a queue's parts lie in the region; all offsets from the region's start. */
    record Layout(int size, long descOffset, long availOffset, long usedOffset, long indirectOffset,
            int indirectEntries, long scratchOffset, int scratchBytes, long end) {

        /** Lays out a queue of {@code size} entries at {@code start} (4 KiB aligned). */
        static Layout at(long start, int size, int indirectEntries, int scratchBytes) {
            long desc = align(start, 4096);
            long avail = desc + (long) DESC_SIZE * size; // §2.7: avail ring alignment 2
            long used = align(avail + 6 + 2L * size, 64); // §2.7: used ring alignment 4
            long indirect = align(used + 6 + 8L * size, 64);
            long scratch = align(indirect + (long) size * indirectEntries * DESC_SIZE, 64);
            long end = align(scratch + (long) size * scratchBytes, 4096);
            return new Layout(size, desc, avail, used, indirect, indirectEntries, scratch, scratchBytes, end);
        }

        private static long align(long value, int alignment) {
            return (value + alignment - 1) & -alignment;
        }
    }

    private final ByteBuffer mem;
    private final long base;
    private final Layout layout;
    private final boolean eventIdx;
    private final boolean indirect;
    private final int mask;
    private final int[] nextFree;
    private final int[] chainLength;
    private final boolean[] inFlight;
    private int freeHead;
    private int freeCount;
    private short availIdx;
    private short lastUsedIdx;

    /**
     * @param mem the whole region (little-endian)
     * @param base the native address of byte 0 of {@code mem}: descriptors carry addresses
     * @param eventIdx VIRTIO_RING_F_EVENT_IDX negotiated
     * @param indirect VIRTIO_RING_F_INDIRECT_DESC negotiated
     */
    SplitVirtqueue(ByteBuffer mem, long base, Layout layout, boolean eventIdx, boolean indirect) {
        this.mem = mem;
        this.base = base;
        this.layout = layout;
        this.eventIdx = eventIdx;
        this.indirect = indirect && layout.indirectEntries() > 0;
        this.mask = layout.size() - 1;
        this.nextFree = new int[layout.size()];
        this.chainLength = new int[layout.size()];
        this.inFlight = new boolean[layout.size()];
        reset();
    }

    Layout layout() {
        return layout;
    }

    /** Back to the state of a new ring: all descriptors free, indices 0, rings zeroed (for a new back end). */
    void reset() {
        for (long o = layout.descOffset(); o < layout.indirectOffset(); o += 8) {
            mem.putLong((int) o, 0);
        }
        for (int i = 0; i < layout.size(); i++) {
            nextFree[i] = i + 1;
            inFlight[i] = false;
        }
        freeHead = 0;
        freeCount = layout.size();
        availIdx = 0;
        lastUsedIdx = 0;
        VarHandle.fullFence();
    }

    /** Native address of a region offset, as written into descriptors (identity memory table). */
    long address(long offset) {
        return base + offset;
    }

    /** Region offset of the scratch area that belongs to {@code head}. */
    long scratch(int head) {
        return layout.scratchOffset() + (long) head * layout.scratchBytes();
    }

    /** The head the next {@link #add} will use. */
    int nextHead() {
        return freeHead;
    }

    int freeDescriptors() {
        return freeCount;
    }

    /** Descriptors a chain of {@code buffers} takes: 1 with an indirect table, else one each. */
    int cost(int buffers) {
        return indirect && buffers > 1 && buffers <= layout.indirectEntries() ? 1 : buffers;
    }

    /**
     * Writes a chain and makes it available to the back end (not yet kicked). Returns its head, or
     * -1 if not enough descriptors are free right now.
     */
    int add(Buffer[] buffers, int count) {
        int cost = cost(count);
        if (cost > freeCount) {
            return -1;
        }
        int head = freeHead;
        if (cost == 1 && count > 1) {
            // §2.7.5.3: one ring descriptor with VIRTQ_DESC_F_INDIRECT pointing at a table whose
            // entries chain with NEXT through table-relative indices.
            long table = layout.indirectOffset() + (long) head * layout.indirectEntries() * DESC_SIZE;
            for (int i = 0; i < count; i++) {
                writeDescriptor(table + (long) i * DESC_SIZE, buffers[i], i + 1 < count, i + 1);
            }
            writeRaw(descriptor(head), address(table), count * DESC_SIZE, VIRTQ_DESC_F_INDIRECT, 0);
            freeHead = nextFree[head];
        } else {
            int d = head;
            for (int i = 0; i < count; i++) {
                int next = nextFree[d];
                writeDescriptor(descriptor(d), buffers[i], i + 1 < count, next);
                if (i + 1 < count) {
                    d = next;
                }
            }
            freeHead = nextFree[d];
        }
        freeCount -= cost;
        chainLength[head] = cost;
        inFlight[head] = true;
        // Ring entry, then the index with release semantics (§2.7.13.2, §2.7.13.3).
        mem.putShort((int) (layout.availOffset() + 4 + 2L * (availIdx & mask)), (short) head);
        availIdx++;
        SHORT.setRelease(mem, (int) (layout.availOffset() + 2), availIdx);
        return head;
    }

    private long descriptor(int index) {
        return layout.descOffset() + (long) index * DESC_SIZE;
    }

    private void writeDescriptor(long at, Buffer b, boolean hasNext, int next) {
        int flags = (b.deviceWrites() ? VIRTQ_DESC_F_WRITE : 0) | (hasNext ? VIRTQ_DESC_F_NEXT : 0);
        writeRaw(at, address(b.offset()), b.length(), flags, hasNext ? next : 0);
    }

    private void writeRaw(long at, long addr, int len, int flags, int next) {
        mem.putLong((int) at, addr);
        mem.putInt((int) at + 8, len);
        mem.putShort((int) at + 12, (short) flags);
        mem.putShort((int) at + 14, (short) next);
    }

    /** The available index before the latest {@link #add}s: pass it to {@link #needsKick}. */
    short availIdx() {
        return availIdx;
    }

    /**
     * Whether the back end must be kicked after the index moved from {@code before} to the
     * current one (§2.7.10 and §2.7.10.1: {@code vring_need_event} with EVENT_IDX, else the
     * NO_NOTIFY flag).
     */
    boolean needsKick(short before) {
        VarHandle.fullFence();
        if (eventIdx) {
            short event = (short) SHORT.getAcquire(mem, (int) (layout.usedOffset() + 4 + 8L * layout.size()));
            return Short.toUnsignedInt((short) (availIdx - event - 1)) < Short.toUnsignedInt((short) (availIdx - before));
        }
        return (((short) SHORT.getAcquire(mem, (int) layout.usedOffset())) & VIRTQ_USED_F_NO_NOTIFY) == 0;
    }

    /** Receives one completed chain: its head and the bytes the device says it wrote. */
    interface Completion {
        void completed(int head, int writtenBytes);
    }

    /**
     * Hands every used entry to {@code sink} and frees its descriptors. With EVENT_IDX it then
     * asks for an interrupt at the next completion ({@code used_event}, §2.7.7) and looks again,
     * because an entry may have landed between the last read and that store.
     *
     * @throws IllegalStateException if the back end reports a head that is not in flight
     */
    int reap(Completion sink) {
        int n = 0;
        while (true) {
            short usedIdx = (short) SHORT.getAcquire(mem, (int) (layout.usedOffset() + 2));
            if (usedIdx == lastUsedIdx) {
                if (!eventIdx) {
                    return n;
                }
                SHORT.setRelease(mem, (int) (layout.availOffset() + 4 + 2L * layout.size()), lastUsedIdx);
                VarHandle.fullFence();
                if ((short) SHORT.getAcquire(mem, (int) (layout.usedOffset() + 2)) == lastUsedIdx) {
                    return n;
                }
                continue;
            }
            if (Short.toUnsignedInt((short) (usedIdx - lastUsedIdx)) > layout.size()) {
                throw new IllegalStateException("the back end moved used.idx from " + lastUsedIdx + " to " + usedIdx
                        + ", more than the ring size " + layout.size());
            }
            while (lastUsedIdx != usedIdx) {
                long entry = layout.usedOffset() + 4 + 8L * (lastUsedIdx & mask);
                int id = mem.getInt((int) entry);
                int len = mem.getInt((int) entry + 4);
                if (id < 0 || id >= layout.size() || !inFlight[id]) {
                    throw new IllegalStateException("the back end completed descriptor " + id + ", which is not in flight");
                }
                release(id);
                lastUsedIdx++;
                n++;
                sink.completed(id, len);
            }
        }
    }

    private void release(int head) {
        inFlight[head] = false;
        int d = head;
        for (int i = 1; i < chainLength[head]; i++) {
            d = nextFree[d];
        }
        nextFree[d] = freeHead;
        freeHead = head;
        freeCount += chainLength[head];
    }
}
