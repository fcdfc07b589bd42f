package org.spdksr.datapath.sim.blkfront;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.spdksr.datapath.blkif.Abi;

/**
 * Writes requests into slot images for one ABI (blkif.md §1.4, §1.5), and descriptor pages of
 * indirect requests (§1.6). Padding is zero, as the C structs are zeroed by blkfront.
 */
public final class RequestEncoder {
    public static final int SEGMENT_SIZE = 8;
    public static final int MAX_SLOT_SEGMENTS = 11;
    public static final int SEGMENTS_PER_PAGE = 512;

    private final Abi abi;
    private final SlotLayout layout;
    private final int handle;

    /** @param handle the {@code handle} field (blkif_vdev_t); Linux blkfront puts the devid there */
    public RequestEncoder(Abi abi, int handle) {
        this.abi = abi;
        this.layout = SlotLayout.of(abi);
        this.handle = handle & 0xffff;
    }

    public Abi abi() {
        return abi;
    }

    /** The byte offset of the id in a slot of this ABI. */
    public int idOffset() {
        return layout.id();
    }

    /** A slot image of {@code abi.slotSize()} bytes. */
    public byte[] encode(FrontRequest request) {
        if (request instanceof FrontRequest.Raw raw) {
            return raw.slot();
        }
        byte[] slot = new byte[abi.slotSize()];
        ByteBuffer b = ByteBuffer.wrap(slot).order(ByteOrder.LITTLE_ENDIAN);
        if (request instanceof FrontRequest.ReadWrite rw) {
            b.put(SlotLayout.OPERATION, (byte) rw.operation());
            b.put(SlotLayout.NR_SEGMENTS, (byte) rw.segments().size());
            b.putShort(SlotLayout.HANDLE, (short) handle);
            b.putLong(layout.id(), rw.id());
            b.putLong(layout.sector(), rw.sector());
            int fit = Math.min(rw.segments().size(), MAX_SLOT_SEGMENTS);
            for (int i = 0; i < fit; i++) {
                putSegment(b, layout.segments() + i * SEGMENT_SIZE, rw.segments().get(i));
            }
        } else if (request instanceof FrontRequest.Discard d) {
            b.put(SlotLayout.OPERATION, (byte) d.operation());
            b.put(SlotLayout.DISCARD_FLAG, (byte) (d.secure() ? 1 : 0));
            b.putShort(SlotLayout.HANDLE, (short) handle);
            b.putLong(layout.id(), d.id());
            b.putLong(layout.sector(), d.sector());
            b.putLong(layout.discardSectors(), d.nrSectors());
        } else if (request instanceof FrontRequest.Indirect ind) {
            b.put(SlotLayout.OPERATION, (byte) ind.operation());
            b.put(SlotLayout.INDIRECT_OP, (byte) ind.indirectOp());
            b.putShort(SlotLayout.INDIRECT_NR_SEGMENTS, (short) ind.nrSegments());
            b.putLong(layout.id(), ind.id());
            b.putLong(layout.sector(), ind.sector());
            b.putShort(layout.indirectHandle(), (short) handle);
            for (int i = 0; i < ind.indirectGrefs().size(); i++) {
                b.putInt(layout.indirectGrefs() + 4 * i, ind.indirectGrefs().get(i));
            }
        }
        return slot;
    }

    /** The id a slot image carries, read where this ABI puts it (the backend echoes it, §1.7). */
    public long idOf(byte[] slot) {
        return ByteBuffer.wrap(slot).order(ByteOrder.LITTLE_ENDIAN).getLong(layout.id());
    }

    /** Writes {@code segments} as consecutive descriptors from {@code offset} of {@code page} (§1.6). */
    public static void encodeDescriptors(List<SegmentDescriptor> segments, ByteBuffer page, int offset) {
        ByteBuffer b = page.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < segments.size(); i++) {
            putSegment(b, offset + i * SEGMENT_SIZE, segments.get(i));
        }
    }

    private static void putSegment(ByteBuffer b, int at, SegmentDescriptor s) {
        b.putInt(at, s.gref());
        b.put(at + 4, (byte) s.firstSect());
        b.put(at + 5, (byte) s.lastSect());
        b.putShort(at + 6, (short) 0);
    }
}
