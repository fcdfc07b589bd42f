package org.spdksr.datapath.blkif;

/**
 * What a request is checked against: the disk as advertised to the frontend.
 *
 * @param sectors capacity in 512-byte sectors (the {@code sectors} key, blkif.md §5.4)
 * @param readOnly the disk was activated read-only ({@code info} VDISK_READONLY)
 * @param discard feature-discard was advertised
 * @param secureDiscard discard-secure was advertised
 */
public record DeviceGeometry(long sectors, boolean readOnly, boolean discard, boolean secureDiscard) {
    public DeviceGeometry {
        if (sectors < 0) {
            throw new IllegalArgumentException("negative capacity");
        }
    }
}
