package org.spdksr.datapath.sim.blkfront;

import java.util.List;

/**
 * A request as the frontend puts it in a slot (blkif.md §1.4–§1.6). The variants follow the C
 * unions; none checks protocol limits, since the hostile tests need requests a real frontend
 * would never send.
 */
public sealed interface FrontRequest {
    long id();

    /** The operation byte of the slot; the response must echo it (§1.4). */
    int operation();

    /** The operation byte a correct backend answers with: Linux blkfront expects the inner op of an indirect request. */
    default int responseOperation() {
        return operation();
    }

    /**
     * READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE (or any other byte). {@code nr_segments} is
     * written as {@code segments.size()} (u8); at most 11 descriptors fit in the slot, so with
     * more the count says more than the slot holds, which is what a hostile test wants.
     */
    record ReadWrite(int operation, long id, long sector, List<SegmentDescriptor> segments) implements FrontRequest {
        public ReadWrite {
            segments = List.copyOf(segments);
            if (segments.size() > 255) {
                throw new IllegalArgumentException(segments.size() + " segments do not fit the u8 nr_segments");
            }
        }
    }

    /** BLKIF_OP_DISCARD; {@code secure} sets BLKIF_DISCARD_SECURE in the flag byte. */
    record Discard(long id, long sector, long nrSectors, boolean secure) implements FrontRequest {
        @Override
        public int operation() {
            return 5;
        }
    }

    /**
     * BLKIF_OP_INDIRECT: {@code nrSegments} descriptors live in the pages granted as
     * {@code indirectGrefs} (512 per page, at most 8 pages).
     */
    record Indirect(int indirectOp, long id, long sector, int nrSegments, List<Integer> indirectGrefs)
            implements FrontRequest {
        public Indirect {
            indirectGrefs = List.copyOf(indirectGrefs);
            if (indirectGrefs.size() > 8) {
                throw new IllegalArgumentException(indirectGrefs.size() + " indirect pages (the slot holds 8)");
            }
            if (nrSegments < 0 || nrSegments > 0xffff) {
                throw new IllegalArgumentException("nr_segments " + nrSegments + " does not fit the u16 field");
            }
        }

        @Override
        public int operation() {
            return 6;
        }

        @Override
        public int responseOperation() {
            return indirectOp;
        }
    }

    /** Slot bytes exactly as given; {@code id} is where the ABI puts it, for matching the response. */
    record Raw(byte[] slot, long id) implements FrontRequest {
        public Raw {
            slot = slot.clone();
        }

        @Override
        public byte[] slot() {
            return slot.clone();
        }

        @Override
        public int operation() {
            return slot.length == 0 ? 0 : slot[0] & 0xff;
        }

        @Override
        public int responseOperation() {
            return operation() == 6 && slot.length > 1 ? slot[1] & 0xff : operation();
        }
    }
}
