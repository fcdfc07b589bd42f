package org.spdksr.volume.file;

import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;
import org.spdksr.volume.sr.Backends;
import org.spdksr.volume.store.Backend;
import org.spdksr.volume.store.CrashPoints;
import org.spdksr.volume.store.SrSite;

/**
 * The {@code file} back end: an SR is a directory the administrator provides
 * ({@code device-config:path=<dir>}) and a volume is a sparse raw file in it.
 */
public final class FileBackend implements Backend {
    public static final String NAME = "file";
    static final String PATH = "path";
    static final String SR_UUID = "sr_uuid";

    private final SparseFiles sparseFiles;
    private final CrashPoints crashPoints;

    public FileBackend(SparseFiles sparseFiles) {
        this(sparseFiles, CrashPoints.NONE);
    }

    public FileBackend(SparseFiles sparseFiles, CrashPoints crashPoints) {
        this.sparseFiles = sparseFiles;
        this.crashPoints = crashPoints;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Map<String, String> deviceConfigKeys() {
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put(PATH, "file back end: absolute path of an existing directory to hold the SR "
                + "(one sparse raw file per volume and the SR's metadata database)");
        keys.put(SR_UUID, "written by SR.create: the uuid of the SR the device must hold; "
                + "attaching refuses a device holding another SR");
        return keys;
    }

    @Override
    public boolean selects(Map<String, String> deviceConfig) {
        return deviceConfig.containsKey(PATH);
    }

    @Override
    public SrSite site(Map<String, String> deviceConfig) {
        Backends.rejectUnknownKeys(this, deviceConfig);
        String text = deviceConfig.get(PATH);
        Path path;
        try {
            path = Path.of(text);
        } catch (java.nio.file.InvalidPathException e) {
            // A NUL byte, for one: a bad argument, not an internal error (issue 19).
            throw new SmapiException(StorageError.invalidArguments(Backends.DEVICE_CONFIG),
                    "device-config:path is not a usable path (" + e.getReason() + "). Give the absolute path of "
                            + "the SR's directory.");
        }
        if (!path.isAbsolute()) {
            throw new SmapiException(StorageError.invalidArguments(Backends.DEVICE_CONFIG),
                    "device-config:path must be an absolute path, got '" + text + "'.");
        }
        if (!Files.isDirectory(path)) {
            throw new SmapiException(new StorageError.SrDoesNotExist(text),
                    "The SR directory " + text + " does not exist or is not a directory. Create or mount it, "
                            + "or correct device-config:path.");
        }
        try {
            return new FileSite(path.toRealPath(), sparseFiles, crashPoints);
        } catch (java.io.IOException e) {
            throw new SmapiException(new StorageError.SrDoesNotExist(text),
                    "Cannot resolve the SR directory " + text + ": " + e.getMessage(), e);
        }
    }

    @Override
    public Optional<SrSite> siteOf(String handle) {
        URI uri;
        try {
            uri = new URI(handle);
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
        if (!NAME.equals(uri.getScheme()) || uri.getPath() == null || !uri.getPath().startsWith("/")) {
            return Optional.empty();
        }
        return Optional.of(new FileSite(Path.of(uri.getPath()), sparseFiles, crashPoints));
    }
}
