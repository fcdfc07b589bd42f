package org.spdksr.datapath.sim.xenopsd;

import java.util.Map;
import java.util.TreeMap;

/**
 * What the toolstack knows about a VBD when it plugs it (smapiv3.md §7.2 items 1–4).
 *
 * @param frontendDomid the guest
 * @param backendDomid the domain serving the disk (0: blkifd runs in dom0)
 * @param backendKind the xenstore backend type ({@code qdisk} for blkifd, blkif.md §5.2)
 * @param disk the Linux name ({@code xvda}); written as {@code dev} and turned into the devid
 * @param readOnly {@code mode=r} instead of {@code w}
 * @param params the {@code params} key (the BlockDevice/File path the SR returned)
 * @param extra the XenDisk {@code extra} map, written as {@code sm-data/<k>}
 * @param deviceType {@code disk}, {@code cdrom} or {@code floppy}
 */
public record VbdSpec(int frontendDomid, int backendDomid, String backendKind, String disk, boolean readOnly,
        String params, Map<String, String> extra, String deviceType) {

    public VbdSpec {
        if (frontendDomid <= 0 || frontendDomid == backendDomid) {
            throw new IllegalArgumentException("frontend domid " + frontendDomid + " must be a guest, not the backend "
                    + backendDomid);
        }
        DeviceNumber.of(disk); // fail early on a bad name
        extra = Map.copyOf(extra);
    }

    /** A read-write or read-only {@code qdisk} disk served from dom0, as blkifd is plugged. */
    public static VbdSpec qdisk(int frontendDomid, String disk, boolean readOnly, String params,
            Map<String, String> extra) {
        return new VbdSpec(frontendDomid, 0, "qdisk", disk, readOnly, params, extra, "disk");
    }

    public int devid() {
        return DeviceNumber.of(disk);
    }

    /** The {@code sm-data} entries: the extra map plus {@code backend-kind} (smapiv3.md §7.2 item 1). */
    public Map<String, String> smData() {
        Map<String, String> all = new TreeMap<>(extra);
        all.put("backend-kind", backendKind);
        return all;
    }
}
