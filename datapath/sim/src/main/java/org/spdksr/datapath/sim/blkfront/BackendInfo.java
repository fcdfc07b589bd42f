package org.spdksr.datapath.sim.blkfront;

import java.io.IOException;
import java.util.Optional;
import org.spdksr.datapath.xen.xenstore.XenstoreOps;

/**
 * What the backend advertised (blkif.md §5.4), as the frontend read it at Connected. Absent
 * numeric keys read as 0 (features off), as blkfront reads them.
 */
public record BackendInfo(long sectors, int sectorSize, int physicalSectorSize, int info, boolean flushCache,
        boolean barrier, boolean discard, long discardGranularity, long discardAlignment, boolean discardSecure,
        boolean persistent, int maxIndirectSegments) {

    public static final int VDISK_CDROM = 1;
    public static final int VDISK_REMOVABLE = 2;
    public static final int VDISK_READONLY = 4;

    public boolean readOnly() {
        return (info & VDISK_READONLY) != 0;
    }

    static BackendInfo read(XenstoreOps xs, String backend) throws IOException {
        long sectors = number(xs, backend, "sectors").orElseThrow(() ->
                new IOException("backend " + backend + " is Connected but has no 'sectors' key"));
        int sectorSize = (int) number(xs, backend, "sector-size").orElse(512L).longValue();
        return new BackendInfo(sectors, sectorSize,
                (int) number(xs, backend, "physical-sector-size").orElse((long) sectorSize).longValue(),
                (int) number(xs, backend, "info").orElse(0L).longValue(),
                flag(xs, backend, "feature-flush-cache"), flag(xs, backend, "feature-barrier"),
                flag(xs, backend, "feature-discard"),
                number(xs, backend, "discard-granularity").orElse((long) sectorSize),
                number(xs, backend, "discard-alignment").orElse(0L), flag(xs, backend, "discard-secure"),
                flag(xs, backend, "feature-persistent"),
                (int) number(xs, backend, "feature-max-indirect-segments").orElse(0L).longValue());
    }

    static Optional<Long> number(XenstoreOps xs, String dir, String key) throws IOException {
        Optional<String> v = xs.readIfExists(dir + "/" + key);
        if (v.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Long.parseUnsignedLong(v.get().trim()));
        } catch (NumberFormatException e) {
            throw new IOException("backend key " + dir + "/" + key + " = '" + v.get() + "' is not a number", e);
        }
    }

    private static boolean flag(XenstoreOps xs, String dir, String key) throws IOException {
        return number(xs, dir, key).orElse(0L) != 0;
    }
}
