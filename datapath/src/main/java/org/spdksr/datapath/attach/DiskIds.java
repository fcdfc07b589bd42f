package org.spdksr.datapath.attach;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.spdksr.plugin.idl.VolumeUri;

/**
 * The id of a volume on this host: the same for every URI of the volume (the SR uuid and the key
 * identify it, §4.1), short enough for unix socket paths (108 bytes) and safe in xenstore keys.
 * It is the disk id blkifd matches against {@code sm-data/spdk-sr-disk} and the NBD export name.
 */
public final class DiskIds {
    private DiskIds() {
    }

    public static String of(VolumeUri uri) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256")
                    .digest((uri.srUuid() + "/" + uri.key()).getBytes(StandardCharsets.UTF_8));
            return "v" + HexFormat.of().formatHex(digest, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}
