package org.spdksr.datapath.sim.blkfront;

/**
 * A {@code blkif_request_segment} as the frontend writes it (blkif.md §1.3). Deliberately
 * unchecked beyond the field widths: the hostile tests build descriptors with
 * {@code first_sect > last_sect} or {@code last_sect > 7}.
 */
public record SegmentDescriptor(int gref, int firstSect, int lastSect) {
    public SegmentDescriptor {
        if (firstSect < 0 || firstSect > 255 || lastSect < 0 || lastSect > 255) {
            throw new IllegalArgumentException("first_sect " + firstSect + " / last_sect " + lastSect
                    + " do not fit the u8 fields");
        }
    }

    /** The sectors {@code first..last} of the page granted as {@code gref}. */
    public static SegmentDescriptor of(int gref, int firstSect, int lastSect) {
        return new SegmentDescriptor(gref, firstSect, lastSect);
    }
}
