package org.spdksr.datapath.blkifd.daemon;

import java.io.IOException;
import java.nio.file.Path;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.device.FileBlockDevice;
import org.spdksr.datapath.device.FileDeviceOptions;
import org.spdksr.datapath.device.OverlayBlockDevice;
import org.spdksr.plugin.idl.VolumeUri;

/** Opens the device of a volume from its URI alone (smapiv3.md §2.5: the URI carries everything). */
public final class VolumeDevices {
    /** What activate says for an SPDK volume until the vhost-user-blk device is merged. */
    public static final String NO_VHOST = "vhost-user-blk datapath not in this build";

    private VolumeDevices() {
    }

    /** A short description for logs and status: the file, or the lvol. */
    public static String describe(VolumeUri uri) {
        if (uri instanceof VolumeUri.FileVolume f) {
            return f.file().toString();
        }
        return "lvol " + ((VolumeUri.SpdkLvol) uri).bdevAlias();
    }

    /**
     * @param overlay non-null for a non-persistent disk: the base is then opened read-only
     */
    public static BlockDevice open(VolumeUri uri, boolean readOnly, Path overlay) throws IOException {
        if (!(uri instanceof VolumeUri.FileVolume f)) {
            throw new IOException("cannot open " + describe(uri) + ": " + NO_VHOST);
        }
        boolean baseReadOnly = readOnly || uri.readOnly() || overlay != null;
        BlockDevice base = FileBlockDevice.open(f.file(), FileDeviceOptions.defaults().withReadOnly(baseReadOnly));
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
