package org.spdksr.volume.file;

import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.spdksr.plugin.host.AttachedSr;
import org.spdksr.volume.store.CrashPoints;
import org.spdksr.volume.store.SrSite;
import org.spdksr.volume.store.VolumeStore;

/**
 * An SR directory: {@code volumes/<key>.raw}, {@code spdk-sr.db} and the lock file. The directory
 * itself belongs to the administrator and outlives the SR.
 */
final class FileSite implements SrSite {
    static final String METADATA = "spdk-sr.db";
    static final String LOCK = ".spdk-sr.lock";
    static final String VOLUMES = "volumes";

    private final Path directory;
    private final FileVolumeStore volumes;
    private final CrashPoints crashPoints;

    FileSite(Path directory, SparseFiles sparseFiles, CrashPoints crashPoints) {
        this.directory = directory;
        this.volumes = new FileVolumeStore(directory.resolve(VOLUMES), sparseFiles, crashPoints);
        this.crashPoints = crashPoints;
    }

    @Override
    public String handle() {
        try {
            return new URI(FileBackend.NAME, "", directory.toString(), null).toASCIIString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot make an SR handle for " + directory, e);
        }
    }

    @Override
    public String describe() {
        return "directory " + directory;
    }

    @Override
    public Path metadataFile() {
        return directory.resolve(METADATA);
    }

    @Override
    public Path lockFile() {
        return directory.resolve(LOCK);
    }

    @Override
    public void prepare() throws IOException {
        Files.createDirectories(directory.resolve(VOLUMES));
    }

    /** An SR.create killed before it recorded the SR leaves only its empty volumes folder. */
    @Override
    public void forgetUnrecorded() throws IOException {
        Path volumesDirectory = directory.resolve(VOLUMES);
        try (Stream<Path> entries = Files.isDirectory(volumesDirectory) ? Files.list(volumesDirectory) : Stream.empty()) {
            if (entries.findAny().isEmpty()) {
                Files.deleteIfExists(volumesDirectory);
            }
        }
    }

    @Override
    public VolumeStore volumes() {
        return volumes;
    }

    @Override
    public Map<String, String> deviceConfig(String srUuid) {
        return Map.of(FileBackend.PATH, directory.toString(), FileBackend.SR_UUID, srUuid);
    }

    @Override
    public AttachedSr attachedAs(String srUuid) {
        return AttachedSr.file(srUuid, handle(), metadataFile(), directory.resolve(VOLUMES));
    }

    @Override
    public void destroy() throws IOException {
        Path volumesDirectory = directory.resolve(VOLUMES);
        if (Files.exists(volumesDirectory)) {
            List<Path> paths;
            try (Stream<Path> walk = Files.walk(volumesDirectory)) {
                paths = walk.sorted(Comparator.reverseOrder()).toList();
            }
            for (Path path : paths) {
                Files.deleteIfExists(path);
            }
        }
        // Volumes before metadata: a killed destroy leaves an SR that a retry destroys again.
        crashPoints.reached("SR.destroy: volumes removed");
        // SQLite's rollback journal, if a writer died mid-transaction.
        Files.deleteIfExists(directory.resolve(METADATA + "-journal"));
        Files.deleteIfExists(metadataFile());
        crashPoints.reached("SR.destroy: metadata removed");
        // The lock file goes last: a caller waiting on it finds no SR once it gets the lock.
        Files.deleteIfExists(lockFile());
    }
}
