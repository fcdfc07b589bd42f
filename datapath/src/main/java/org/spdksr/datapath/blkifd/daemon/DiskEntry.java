package org.spdksr.datapath.blkifd.daemon;

/**
 * One disk of a domain as the datapath commands recorded it in {@code state.json}.
 *
 * @param id the disk id: stable for a volume, written by xenopsd as {@code sm-data/spdk-sr-disk}
 * @param uri the volume URI (smapiv3.md §2.5), from which blkifd opens the volume
 * @param active activated (open for I/O) or only attached
 * @param readOnly activated with {@code activate_readonly}
 * @param overlay the non-persistent overlay file, or null for a persistent disk
 */
public record DiskEntry(String id, String uri, boolean active, boolean readOnly, String overlay) {

    public DiskEntry activated(boolean readOnly, String overlay) {
        return new DiskEntry(id, uri, true, readOnly, overlay);
    }

    public DiskEntry deactivated() {
        return new DiskEntry(id, uri, false, readOnly, null);
    }
}
