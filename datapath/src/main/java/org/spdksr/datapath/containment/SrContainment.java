package org.spdksr.datapath.containment;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Optional;
import java.util.regex.Pattern;
import org.spdksr.plugin.host.AttachedSr;
import org.spdksr.plugin.host.AttachedSrs;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;

/**
 * Whether a volume URI stays inside an SR this host has attached (issue 19): the SR is recorded
 * in {@link AttachedSrs}, and the file or lvol the URI names is the one the SR's own layout gives
 * for the URI's key. The path in the URI is never opened as given: it must equal the path
 * recomputed from the SR's record, and that path must have no symlink in it, so {@code ..},
 * {@code %2e%2e}, absolute paths elsewhere and symlinks all fail. Used by the datapath commands
 * and again by blkifd (defence in depth: a state.json written by someone else is not trusted).
 */
public final class SrContainment {
    /** The volume plugin's key rule (volume module, VolumeKeys): no '/', no leading dot. */
    private static final Pattern KEY = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");
    /** The file back end's volume file name (volume module, FileVolumeStore). */
    private static final String SUFFIX = ".raw";

    private final AttachedSrs srs;

    public SrContainment(AttachedSrs srs) {
        this.srs = srs;
    }

    /** @return the SR the volume belongs to; throws {@link SmapiException} naming what is wrong */
    public AttachedSr check(VolumeUri uri, String method) throws IOException {
        Optional<AttachedSr> found = srs.find(uri.srUuid());
        if (found.isEmpty()) {
            throw new SmapiException(new StorageError.SrNotAttached(uri.srUuid()), method + ": SR '" + uri.srUuid()
                    + "' named by volume URI " + uri.format() + " is not attached on this host (no record in "
                    + srs.directory() + "), so none of its volumes can be served here. Plug the SR's PBD on this "
                    + "host (xe pbd-plug) and take the URI from Volume.stat again.");
        }
        AttachedSr sr = found.get();
        if (!KEY.matcher(uri.key()).matches()) {
            throw refused(method, uri, "its key '" + uri.key() + "' cannot be a volume key of SR " + sr.srUuid());
        }
        if (uri instanceof VolumeUri.FileVolume file) {
            checkFile(method, file, sr);
        } else {
            checkLvol(method, (VolumeUri.SpdkLvol) uri, sr);
        }
        return sr;
    }

    private static void checkFile(String method, VolumeUri.FileVolume uri, AttachedSr sr) throws IOException {
        if (!sr.holdsFiles()) {
            throw refused(method, uri, "SR " + sr.srUuid() + " is an spdk SR, not a file SR");
        }
        Path expected = sr.volumesDirectory().resolve(uri.key() + SUFFIX);
        if (!uri.file().equals(expected)) {
            throw refused(method, uri, "the file " + uri.file() + " is not " + expected + ", the file of volume "
                    + uri.key() + " in SR " + sr.srUuid());
        }
        if (!Files.isRegularFile(expected, LinkOption.NOFOLLOW_LINKS)) {
            throw new SmapiException(new StorageError.VolumeDoesNotExist(uri.key()), method + ": volume " + uri.key()
                    + " of SR " + sr.srUuid() + " has no regular file " + expected + " (missing, or a symlink, which "
                    + "is refused). Run xe sr-scan, and take the URI from Volume.stat again.");
        }
        Path real = expected.toRealPath();
        if (!real.equals(expected)) {
            throw refused(method, uri, expected + " leads through a symlink to " + real);
        }
    }

    private static void checkLvol(String method, VolumeUri.SpdkLvol uri, AttachedSr sr) {
        if (sr.holdsFiles()) {
            throw refused(method, uri, "SR " + sr.srUuid() + " is a file SR, not an spdk SR");
        }
        if (!uri.lvstore().equals(sr.lvstore()) || !uri.lvol().equals(uri.key())) {
            throw refused(method, uri, "lvol " + uri.bdevAlias() + " is not " + sr.lvstore() + "/" + uri.key()
                    + ", the lvol of volume " + uri.key() + " in SR " + sr.srUuid());
        }
        if (!uri.socket().equals(sr.socketPath())) {
            throw refused(method, uri, "spdk_tgt socket " + uri.socket() + " is not " + sr.socket()
                    + ", the one SR " + sr.srUuid() + " was attached through");
        }
    }

    private static SmapiException refused(String method, VolumeUri uri, String why) {
        return new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE", "Volume_outside_SR",
                uri.format()), method + ": refused volume URI " + uri.format() + ": " + why + ". The datapath only "
                + "serves volumes of SRs attached on this host; take the URI from Volume.stat of the SR.");
    }
}
