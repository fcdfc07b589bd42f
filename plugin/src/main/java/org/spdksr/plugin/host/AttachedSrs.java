package org.spdksr.plugin.host;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The SRs attached on this host, one file {@code <sr-uuid>.json} per SR: written by SR.attach,
 * removed by SR.detach and SR.destroy (volume plugin), read by the datapath and blkifd to decide
 * whether a volume URI names a volume of an SR this host has attached. The directory is
 * {@code $SPDK_SR_ATTACHED_DIR}, or {@code srs} beside the datapath's run directory
 * ({@code /run/spdk-sr/srs} by default). /run is a tmpfs, so the records vanish at reboot, when
 * every SR is detached too; xapi plugs the PBDs again at boot (smapiv3.md §4.4, SR.attach).
 */
public record AttachedSrs(Path directory) {
    public static final String ENV = "SPDK_SR_ATTACHED_DIR";
    /** The datapath's run directory setting and default (RunDirectory in the datapath module). */
    static final String RUN_DIR_ENV = "SPDK_SR_RUN_DIR";
    static final String DEFAULT_RUN_DIR = "/run/spdk-sr/blkifd";
    private static final String SIBLING = "srs";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** For the SMAPIv3 commands: the volume plugin and the datapath read the same environment. */
    public static AttachedSrs fromEnvironment(Map<String, String> env) {
        String runDir = env.get(RUN_DIR_ENV);
        return besideRunDirectory(env, Path.of(runDir == null || runDir.isBlank() ? DEFAULT_RUN_DIR : runDir));
    }

    /** For blkifd, which is told its run directory on the command line (the systemd unit). */
    public static AttachedSrs besideRunDirectory(Map<String, String> env, Path runDirectory) {
        String configured = env.get(ENV);
        if (configured != null && !configured.isBlank()) {
            return new AttachedSrs(Path.of(configured).toAbsolutePath());
        }
        return new AttachedSrs(runDirectory.toAbsolutePath().resolveSibling(SIBLING));
    }

    /** Records the SR as attached; replaces an older record of the same SR. Atomic. */
    public void record(AttachedSr sr) throws IOException {
        Path file = fileOf(sr.srUuid()).orElseThrow(
                () -> new IllegalArgumentException("an SR uuid must be a UUID, got '" + sr.srUuid() + "'"));
        Files.createDirectories(directory);
        Path temporary = directory.resolve("." + file.getFileName() + ".tmp");
        JSON.writerWithDefaultPrettyPrinter().writeValue(temporary.toFile(), sr);
        Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    /** Forgets every record with this handle (SR.detach and SR.destroy know the SR by its handle). */
    public void forget(String handle) throws IOException {
        if (!Files.isDirectory(directory)) {
            return;
        }
        try (DirectoryStream<Path> files = Files.newDirectoryStream(directory, "*.json")) {
            for (Path file : files) {
                Optional<AttachedSr> sr = read(file);
                if (sr.isPresent() && sr.get().handle().equals(handle)) {
                    Files.deleteIfExists(file);
                }
            }
        }
    }

    /**
     * The record of the SR with this uuid, or empty if it is not attached here. A string that is
     * not a UUID in its canonical form names no SR, so it never becomes part of a path.
     */
    public Optional<AttachedSr> find(String srUuid) throws IOException {
        Optional<Path> file = fileOf(srUuid);
        if (file.isEmpty()) {
            return Optional.empty();
        }
        return read(file.get()).filter(sr -> sr.srUuid().equals(srUuid));
    }

    private Optional<Path> fileOf(String srUuid) {
        try {
            if (!UUID.fromString(srUuid).toString().equals(srUuid)) {
                return Optional.empty();
            }
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        return Optional.of(directory.resolve(srUuid + ".json"));
    }

    private static Optional<AttachedSr> read(Path file) throws IOException {
        try {
            return Optional.of(JSON.readValue(file.toFile(), AttachedSr.class));
        } catch (NoSuchFileException | java.io.FileNotFoundException e) {
            return Optional.empty();
        }
    }
}
