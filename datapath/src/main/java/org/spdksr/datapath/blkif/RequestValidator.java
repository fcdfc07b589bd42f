package org.spdksr.datapath.blkif;

import static org.spdksr.datapath.blkif.BlkifConstants.*;

import java.util.Optional;
import java.util.function.Supplier;

/**
 * The policy half of request checking: a structurally sound request may still ask for I/O past
 * the end of the volume, a write to a read-only disk, or a feature that was not offered. Only a
 * request this passes is given to the block device (ARCHITECTURE.md §5: never I/O outside the
 * volume).
 */
public final class RequestValidator {
    private final Supplier<DeviceGeometry> geometry;

    public RequestValidator(DeviceGeometry geometry) {
        this(() -> geometry);
    }

    /** For a disk whose size can change while connected (online resize, blkif.md §5.4). */
    public RequestValidator(Supplier<DeviceGeometry> geometry) {
        this.geometry = geometry;
    }

    /** @return the rejection to answer with, or empty if the request may run */
    public Optional<BlkifRequest.Malformed> check(BlkifRequest request) {
        if (request instanceof BlkifRequest.Direct direct) {
            return checkDirect(direct);
        }
        if (request instanceof BlkifRequest.Discard discard) {
            return checkDiscard(discard);
        }
        if (request instanceof BlkifRequest.Malformed malformed) {
            return Optional.of(malformed);
        }
        throw new IllegalArgumentException("resolve indirect requests before checking them: " + request);
    }

    private Optional<BlkifRequest.Malformed> checkDirect(BlkifRequest.Direct request) {
        DeviceGeometry geometry = this.geometry.get();
        boolean writes = request.ioOperation() != OP_READ && !request.segments().isEmpty();
        if (geometry.readOnly() && (writes || request.ioOperation() == OP_WRITE)) {
            return reject(request, "write to a read-only disk");
        }
        if (request.segments().isEmpty()) {
            // An empty flush or barrier touches no sector; Linux blkfront sends its sector as
            // 2^64-1, so a range check would refuse every cache flush (seen on real Xen).
            return Optional.empty();
        }
        long sectors = 0;
        for (Segment segment : request.segments()) {
            sectors += segment.sectors();
        }
        return inside(geometry, request, request.sector(), sectors);
    }

    private Optional<BlkifRequest.Malformed> checkDiscard(BlkifRequest.Discard request) {
        DeviceGeometry geometry = this.geometry.get();
        if (!geometry.discard()) {
            // Linux blkfront turns discard off on EOPNOTSUPP (§1.7).
            return Optional.of(new BlkifRequest.Malformed(OP_DISCARD, request.id(), RSP_EOPNOTSUPP, "discard not advertised"));
        }
        if (geometry.readOnly()) {
            return reject(request, "discard on a read-only disk");
        }
        return inside(geometry, request, request.sector(), request.nrSectors());
    }

    private static Optional<BlkifRequest.Malformed> inside(DeviceGeometry geometry, BlkifRequest request, long sector,
            long count) {
        // Unsigned u64 fields: a "negative" start or length is a huge one, and start + count must
        // not wrap around.
        if (sector < 0 || count < 0 || sector > geometry.sectors() || count > geometry.sectors() - sector) {
            return reject(request, "sectors " + Long.toUnsignedString(sector) + "+" + Long.toUnsignedString(count)
                    + " outside a disk of " + geometry.sectors() + " sectors");
        }
        return Optional.empty();
    }

    private static Optional<BlkifRequest.Malformed> reject(BlkifRequest request, String reason) {
        return Optional.of(new BlkifRequest.Malformed(request.operation(), request.id(), RSP_ERROR, reason));
    }
}
