package org.spdksr.datapath.blkif;

/**
 * One page of a request's data: the grant and the inclusive range of 512-byte sectors in it
 * (blkif.md §1.3). Built only by the decoder, which has checked the range.
 */
public record Segment(int gref, int firstSect, int lastSect) {

    public int bytes() {
        return (lastSect - firstSect + 1) * BlkifConstants.SECTOR_SIZE;
    }

    public int offsetInPage() {
        return firstSect * BlkifConstants.SECTOR_SIZE;
    }

    public int sectors() {
        return lastSect - firstSect + 1;
    }
}
