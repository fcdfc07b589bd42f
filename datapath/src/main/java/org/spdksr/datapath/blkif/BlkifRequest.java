package org.spdksr.datapath.blkif;

import java.util.List;

/**
 * A request as read from one ring slot, after the slot was copied out of shared memory. The
 * structural decode already refused what cannot be represented (a segment range past the page,
 * too many segments); the rest of the policy is {@link RequestValidator}'s.
 */
public sealed interface BlkifRequest {
    /** The opaque id, echoed in the response whatever else is wrong with the request. */
    long id();

    /**
     * The operation byte the response carries: the guest's, except for indirect requests, whose
     * responses carry the inner READ or WRITE (what Linux blkback writes and blkfront checks).
     */
    int operation();

    /**
     * A request with its segments in hand: READ, WRITE, WRITE_BARRIER or FLUSH_DISKCACHE with up to
     * 11 segments, or a resolved indirect read or write ({@code operation} and {@code ioOperation}
     * both READ or WRITE).
     */
    record Direct(int operation, int ioOperation, long id, long sector, List<Segment> segments) implements BlkifRequest {
        public Direct {
            segments = List.copyOf(segments);
        }
    }

    record Discard(long id, long sector, long nrSectors, boolean secure) implements BlkifRequest {
        @Override
        public int operation() {
            return BlkifConstants.OP_DISCARD;
        }
    }

    /** An indirect read or write; its segments are in guest pages still to be fetched (§1.6). */
    record Indirect(int indirectOp, long id, long sector, int nrSegments, List<Integer> indirectGrefs)
            implements BlkifRequest {
        public Indirect {
            indirectGrefs = List.copyOf(indirectGrefs);
        }

        /** Not sent back: an indirect request is answered after {@code resolveIndirect}, with its inner op. */
        @Override
        public int operation() {
            return BlkifConstants.OP_INDIRECT;
        }
    }

    /** Something the backend will not do; {@code reason} is for the log. */
    record Malformed(int operation, long id, short status, String reason) implements BlkifRequest {}
}
