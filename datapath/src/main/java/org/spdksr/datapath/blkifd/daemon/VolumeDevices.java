package org.spdksr.datapath.blkifd.daemon;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.spdksr.datapath.containment.SrContainment;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.device.FileBlockDevice;
import org.spdksr.datapath.device.FileDeviceOptions;
import org.spdksr.datapath.device.OverlayBlockDevice;
import org.spdksr.datapath.spdk.LvolDevices;
import org.spdksr.plugin.host.AttachedSrs;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.protocol.SmapiException;

/** Opens the device of a volume from its URI alone (smapiv3.md §2.5: the URI carries everything). */
public final class VolumeDevices {
    private final LvolDevices lvols;
    private final SrContainment containment;

    public VolumeDevices(LvolDevices lvols, SrContainment containment) {
        this.lvols = lvols;
        this.containment = containment;
    }

    /** With the vhost-user settings of blkifd's environment ({@link org.spdksr.datapath.spdk.VhostSettings}). */
    public static VolumeDevices fromEnvironment(Map<String, String> env) {
        return new VolumeDevices(LvolDevices.fromEnvironment(env), new SrContainment(AttachedSrs.fromEnvironment(env)));
    }

    /** For blkifd, whose run directory (beside which the attached SRs are recorded) is an argument. */
    public static VolumeDevices fromEnvironment(Map<String, String> env, Path runDirectory) {
        return new VolumeDevices(LvolDevices.fromEnvironment(env),
                new SrContainment(AttachedSrs.besideRunDirectory(env, runDirectory)));
    }

    /** A short description for logs and status: the file, or the lvol. */
    public static String describe(VolumeUri uri) {
        if (uri instanceof VolumeUri.FileVolume f) {
            return f.file().toString();
        }
        return "lvol " + ((VolumeUri.SpdkLvol) uri).bdevAlias();
    }

    /**
     * @param diskId the disk's id on this host; with {@code domain} it names an lvol's vhost controller
     * @param overlay non-null for a non-persistent disk: the base is then opened read-only
     */
    public BlockDevice open(VolumeUri uri, String diskId, String domain, boolean readOnly, Path overlay)
            throws IOException {
        // Defence in depth (issue 19): the datapath checked the URI, but state.json is only a file,
        // so blkifd opens nothing outside an SR attached here either.
        try {
            containment.check(uri, "blkifd");
        } catch (SmapiException e) {
            throw new IOException(e.getMessage(), e);
        }
        boolean baseReadOnly = readOnly || uri.readOnly() || overlay != null;
        BlockDevice base;
        if (uri instanceof VolumeUri.FileVolume f) {
            base = FileBlockDevice.open(f.file(), FileDeviceOptions.defaults().withReadOnly(baseReadOnly));
        } else {
            base = lvols.open((VolumeUri.SpdkLvol) uri, diskId, domain, baseReadOnly);
        }
        if (overlay == null) {
            return base;
        }
        try {
            return OverlayBlockDevice.open(base, overlay);
        } catch (IOException | RuntimeException e) {
            base.close();
            throw e;
        }
    }
}
