package org.spdksr.volume.file;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;
import org.spdksr.volume.store.CrashPoints;
import org.spdksr.volume.store.Space;
import org.spdksr.volume.store.StoredVolume;
import org.spdksr.volume.store.VolumeKeys;
import org.spdksr.volume.store.VolumeStore;

/**
 * Volumes as sparse raw files {@code <key>.raw}. Every new file is built under a dot-name and
 * renamed into place, so a process killed half-way leaves only a dot-file, which {@link #list}
 * clears (it runs under the SR lock, when no other call can be building one).
 */
final class FileVolumeStore implements VolumeStore {
    private static final Logger LOG = LoggerFactory.getLogger(FileVolumeStore.class);
    private static final String SUFFIX = ".raw";
    /** The guest sees 512-byte sectors (blkif.md §1.7), so sizes are whole sectors. */
    private static final long SECTOR = 512;

    private final Path directory;
    private final SparseFiles sparseFiles;
    private final CrashPoints crashPoints;

    FileVolumeStore(Path directory, SparseFiles sparseFiles, CrashPoints crashPoints) {
        this.directory = directory;
        this.sparseFiles = sparseFiles;
        this.crashPoints = crashPoints;
    }

    @Override
    public long roundUp(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative size " + bytes);
        }
        long rounded = (bytes + SECTOR - 1) / SECTOR * SECTOR;
        if (rounded < bytes) {
            throw new IllegalArgumentException("size " + bytes + " is too large");
        }
        return rounded;
    }

    @Override
    public StoredVolume create(String key, long size) throws IOException {
        Path temporary = temporaryFor(key);
        try (RandomAccessFile file = new RandomAccessFile(temporary.toFile(), "rw")) {
            setLength(file, size, key); // extends with a hole: no blocks are allocated
            file.getFD().sync();
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(temporary);
            throw e;
        }
        crashPoints.reached("file: temporary volume synced");
        return install(temporary, key);
    }

    @Override
    public StoredVolume resize(String key, long newSize) throws IOException {
        // FileChannel.truncate only shrinks; setLength grows with a hole, allocating nothing.
        try (RandomAccessFile file = new RandomAccessFile(fileOf(key).toFile(), "rw")) {
            if (file.length() < newSize) {
                setLength(file, newSize, key);
                file.getFD().sync();
            }
        }
        return find(key).orElseThrow(() -> new NoSuchFileException(fileOf(key).toString()));
    }

    @Override
    public StoredVolume snapshot(String sourceKey, String targetKey) throws IOException {
        return copy(sourceKey, targetKey);
    }

    @Override
    public StoredVolume clone(String sourceKey, String targetKey) throws IOException {
        return copy(sourceKey, targetKey);
    }

    private StoredVolume copy(String sourceKey, String targetKey) throws IOException {
        Path temporary = temporaryFor(targetKey);
        Files.deleteIfExists(temporary);
        SparseFiles.CopyMethod method = sparseFiles.copy(fileOf(sourceKey), temporary);
        LOG.info("copied volume {} to {} by {}", sourceKey, targetKey, method);
        crashPoints.reached("file: temporary copy made");
        return install(temporary, targetKey);
    }

    @Override
    public boolean destroy(String key) throws IOException {
        return Files.deleteIfExists(fileOf(key));
    }

    @Override
    public Optional<StoredVolume> find(String key) throws IOException {
        Path file = fileOf(key);
        if (!Files.isRegularFile(file)) {
            return Optional.empty();
        }
        return Optional.of(new StoredVolume(key, Files.size(file), sparseFiles.allocatedBytes(file)));
    }

    @Override
    public Map<String, StoredVolume> list() throws IOException {
        Map<String, StoredVolume> volumes = new TreeMap<>();
        if (!Files.isDirectory(directory)) {
            return volumes;
        }
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (name.startsWith(".")) {
                    LOG.warn("removing {}, left by an interrupted operation", entry);
                    Files.deleteIfExists(entry);
                    continue;
                }
                if (!name.endsWith(SUFFIX) || !Files.isRegularFile(entry)) {
                    continue;
                }
                String key = name.substring(0, name.length() - SUFFIX.length());
                if (!VolumeKeys.isValid(key)) {
                    LOG.warn("ignoring {}: its name is not a valid volume key", entry);
                    continue;
                }
                find(key).ifPresent(v -> volumes.put(key, v));
            }
        }
        return volumes;
    }

    @Override
    public Space space() throws IOException {
        FileStore store = Files.getFileStore(Files.isDirectory(directory) ? directory : directory.getParent());
        return new Space(store.getTotalSpace(), store.getUsableSpace());
    }

    @Override
    public VolumeUri uri(String srUuid, String key, boolean readOnly) {
        return new VolumeUri.FileVolume(fileOf(key), srUuid, key, readOnly);
    }

    /** The file system's own limit (EFBIG) is a user error with a size to change, not a crash. */
    private void setLength(RandomAccessFile file, long size, String key) {
        try {
            file.setLength(size);
        } catch (IOException e) {
            throw new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE", "VDI_too_large", key),
                    "Cannot make volume " + key + " " + size + " bytes long in " + directory + ": the file system "
                            + "refused (" + e.getMessage() + "). Choose a smaller size, or put the SR on a file "
                            + "system that allows larger files.", e);
        }
    }

    private Path fileOf(String key) {
        if (!VolumeKeys.isValid(key)) {
            throw new IllegalArgumentException("invalid volume key " + key);
        }
        return directory.resolve(key + SUFFIX);
    }

    private Path temporaryFor(String key) throws IOException {
        Files.createDirectories(directory);
        return directory.resolve("." + key + SUFFIX + ".tmp");
    }

    private StoredVolume install(Path temporary, String key) throws IOException {
        Files.move(temporary, fileOf(key), StandardCopyOption.ATOMIC_MOVE);
        crashPoints.reached("file: renamed into place");
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true); // make the rename itself durable
        }
        crashPoints.reached("file: directory synced");
        return find(key).orElseThrow(() -> new NoSuchFileException(fileOf(key).toString()));
    }
}
