package org.spdksr.datapath.spdk;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;
import org.spdksr.datapath.vhost.VhostBlockDevice;
import org.spdksr.datapath.vhost.VhostDeviceOptions;
import org.spdksr.plugin.idl.VolumeUri;

/** Opens an lvol of the spdk back end as a block device: a vhost controller, then vhost-user-blk to it. */
public final class LvolDevices {
    private final VhostDeviceOptions options;
    /** A bad setting fails the activation of lvols (saying which setting), not blkifd's start: file disks go on. */
    private final String settingsProblem;

    public LvolDevices(VhostDeviceOptions options) {
        this(options, null);
    }

    private LvolDevices(VhostDeviceOptions options, String settingsProblem) {
        this.options = options;
        this.settingsProblem = settingsProblem;
    }

    public static LvolDevices fromEnvironment(Map<String, String> env) {
        try {
            return new LvolDevices(VhostSettings.from(env));
        } catch (IllegalArgumentException e) {
            return new LvolDevices(null, e.getMessage());
        }
    }

    /**
     * The device deletes its controller when it is closed (deactivate); if opening fails the
     * controller made for it is deleted at once.
     */
    public VhostBlockDevice open(VolumeUri.SpdkLvol lvol, String diskId, String domain, boolean readOnly)
            throws IOException {
        if (settingsProblem != null) {
            throw new IOException("cannot open lvol " + lvol.bdevAlias() + ": " + settingsProblem);
        }
        LvolController controller = new LvolController(lvol, diskId, domain, readOnly);
        Path socket = controller.ensure();
        try {
            return VhostBlockDevice.open(socket, options.withReadOnly(readOnly), controller);
        } catch (IOException | RuntimeException e) {
            controller.release();
            throw new IOException("lvol " + lvol.bdevAlias() + " (vhost controller " + controller.name() + "): "
                    + e.getMessage(), e);
        }
    }
}
