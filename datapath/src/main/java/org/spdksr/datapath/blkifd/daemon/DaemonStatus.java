package org.spdksr.datapath.blkifd.daemon;

import java.util.List;
import org.spdksr.datapath.blkifd.BufferReport;
import org.spdksr.datapath.blkifd.VbdReport;

/**
 * One blkifd as its control socket reports it.
 *
 * @param buffers its request buffer memory; null for a dom0 attachment (NBD only, no rings)
 */
public record DaemonStatus(String domain, long pid, long startedAtMillis, List<DiskStatus> disks, BufferReport buffers) {
    public DaemonStatus {
        disks = List.copyOf(disks);
    }

    /**
     * One disk.
     *
     * @param state {@code attached} (registered, not open), {@code active} (open, served) or
     *     {@code failed} (activation failed: see {@code error})
     * @param volume what the URI names (a file path for the file back end)
     * @param nbdUri the NBD export while active, else empty
     * @param vbds the guest ring connections serving it (empty for dom0 attachments)
     */
    public record DiskStatus(String id, String uri, String volume, String state, boolean readOnly,
            boolean nonPersistent, String error, String nbdUri, List<VbdReport> vbds) {
        public DiskStatus {
            vbds = List.copyOf(vbds);
        }
    }

    public DiskStatus disk(String id) {
        return disks.stream().filter(d -> d.id().equals(id)).findFirst().orElse(null);
    }
}
