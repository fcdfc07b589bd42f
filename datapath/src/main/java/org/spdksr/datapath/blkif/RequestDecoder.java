package org.spdksr.datapath.blkif;

import static org.spdksr.datapath.blkif.BlkifConstants.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns a private copy of one ring slot into a {@link BlkifRequest}. It never reads shared
 * memory: the caller copied the slot once (blkif.md §1.8, the XSA-155 double-fetch rule), so
 * what is checked here is what will be used.
 */
public final class RequestDecoder {
    private final Abi abi;
    private final int maxIndirectSegments;

    /** @param maxIndirectSegments what the backend advertised in feature-max-indirect-segments, or 0 */
    public RequestDecoder(Abi abi, int maxIndirectSegments) {
        if (maxIndirectSegments < 0 || maxIndirectSegments > MAX_INDIRECT_PAGES * SEGMENTS_PER_INDIRECT_PAGE) {
            throw new IllegalArgumentException("max indirect segments out of range: " + maxIndirectSegments);
        }
        this.abi = abi;
        this.maxIndirectSegments = maxIndirectSegments;
    }

    public Abi abi() {
        return abi;
    }

    public BlkifRequest decode(byte[] slot) {
        if (slot.length != abi.slotSize()) {
            throw new IllegalArgumentException("slot copy of " + slot.length + " bytes for " + abi);
        }
        ByteBuffer b = ByteBuffer.wrap(slot).order(ByteOrder.LITTLE_ENDIAN);
        int op = b.get(0) & 0xff;
        // Every layout keeps the id at the same offset, so even an unknown op gets its id back (§1.7).
        long id = b.getLong(abi.idOffset());
        return switch (op) {
            case OP_READ, OP_WRITE, OP_WRITE_BARRIER, OP_FLUSH_DISKCACHE -> direct(b, op, id);
            case OP_DISCARD -> new BlkifRequest.Discard(id, b.getLong(abi.sectorOffset()),
                    b.getLong(abi.discardSectorsOffset()), (b.get(1) & DISCARD_FLAG_SECURE) != 0);
            case OP_INDIRECT -> indirect(b, id);
            default -> new BlkifRequest.Malformed(op, id, RSP_EOPNOTSUPP, "unsupported operation " + op);
        };
    }

    private BlkifRequest direct(ByteBuffer b, int op, long id) {
        int nr = b.get(1) & 0xff;
        if (nr > MAX_DIRECT_SEGMENTS) {
            return new BlkifRequest.Malformed(op, id, RSP_ERROR, nr + " segments in a direct request (max 11)");
        }
        if (nr == 0 && (op == OP_READ || op == OP_WRITE)) {
            return new BlkifRequest.Malformed(op, id, RSP_ERROR, "read or write without segments");
        }
        List<Segment> segments = new ArrayList<>(nr);
        for (int i = 0; i < nr; i++) {
            int at = abi.segmentsOffset() + i * SEGMENT_SIZE;
            String problem = segmentProblem(b.get(at + 4) & 0xff, b.get(at + 5) & 0xff);
            if (problem != null) {
                return new BlkifRequest.Malformed(op, id, RSP_ERROR, "segment " + i + ": " + problem);
            }
            segments.add(new Segment(b.getInt(at), b.get(at + 4) & 0xff, b.get(at + 5) & 0xff));
        }
        return new BlkifRequest.Direct(op, op, id, b.getLong(abi.sectorOffset()), segments);
    }

    private BlkifRequest indirect(ByteBuffer b, long id) {
        int indirectOp = b.get(1) & 0xff;
        int nr = b.getShort(2) & 0xffff;
        // Responses to indirect requests carry the inner operation, as Linux blkback writes them and
        // as Linux blkfront checks since the XSA-376 hardening (seen on real Xen by the real-Xen
        // stage: "response has wrong operation (6 instead of 0)"). blkif.md §1.4 says to echo 6;
        // the running kernels disagree, and they win.
        if (maxIndirectSegments == 0) {
            return new BlkifRequest.Malformed(indirectOp, id, RSP_EOPNOTSUPP, "indirect requests not advertised");
        }
        // Linux blkfront sends only reads and writes indirect (§1.4).
        if (indirectOp != OP_READ && indirectOp != OP_WRITE) {
            return new BlkifRequest.Malformed(indirectOp, id, RSP_ERROR, "indirect operation " + indirectOp);
        }
        if (nr == 0 || nr > maxIndirectSegments) {
            return new BlkifRequest.Malformed(indirectOp, id, RSP_ERROR,
                    nr + " indirect segments (advertised at most " + maxIndirectSegments + ")");
        }
        int pages = (nr + SEGMENTS_PER_INDIRECT_PAGE - 1) / SEGMENTS_PER_INDIRECT_PAGE;
        List<Integer> grefs = new ArrayList<>(pages);
        for (int i = 0; i < pages; i++) {
            grefs.add(b.getInt(abi.indirectGrefsOffset() + 4 * i));
        }
        return new BlkifRequest.Indirect(indirectOp, id, b.getLong(abi.sectorOffset()), nr, grefs);
    }

    /**
     * The segments of an indirect request, from a private copy of its descriptor pages (one
     * {@code PAGE_SIZE} run per page, in order), or a rejection.
     */
    public BlkifRequest resolveIndirect(BlkifRequest.Indirect request, byte[] descriptorPages) {
        if (descriptorPages.length != request.indirectGrefs().size() * PAGE_SIZE) {
            throw new IllegalArgumentException("expected " + request.indirectGrefs().size() + " descriptor pages");
        }
        ByteBuffer b = ByteBuffer.wrap(descriptorPages).order(ByteOrder.LITTLE_ENDIAN);
        List<Segment> segments = new ArrayList<>(request.nrSegments());
        for (int i = 0; i < request.nrSegments(); i++) {
            int at = i * SEGMENT_SIZE;
            int first = b.get(at + 4) & 0xff;
            int last = b.get(at + 5) & 0xff;
            String problem = segmentProblem(first, last);
            if (problem != null) {
                return new BlkifRequest.Malformed(request.indirectOp(), request.id(), RSP_ERROR,
                        "indirect segment " + i + ": " + problem);
            }
            segments.add(new Segment(b.getInt(at), first, last));
        }
        return new BlkifRequest.Direct(request.indirectOp(), request.indirectOp(), request.id(), request.sector(), segments);
    }

    private static String segmentProblem(int first, int last) {
        if (first > last || last >= SECTORS_PER_PAGE) {
            return "sector range " + first + ".." + last + " is not within a page";
        }
        return null;
    }
}
