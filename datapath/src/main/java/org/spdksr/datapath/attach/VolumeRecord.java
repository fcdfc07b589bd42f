package org.spdksr.datapath.attach;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.TreeSet;

/**
 * The host-wide activation record of one volume ({@code <run>/volumes/<id>.json}), changed only
 * under the volumes lock: which domain holds it read-write (at most one), which hold it read-only,
 * and whether {@code Datapath.open persistent=false} made it non-persistent for this epoch.
 */
record VolumeRecord(String readWrite, List<String> readOnly, boolean nonPersistent) {
    private static final ObjectMapper JSON = new ObjectMapper()
            .configure(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES, false);

    VolumeRecord {
        readOnly = readOnly == null ? List.of() : List.copyOf(new TreeSet<>(readOnly));
    }

    static VolumeRecord empty() {
        return new VolumeRecord(null, List.of(), false);
    }

    boolean unused() {
        return readWrite == null && readOnly.isEmpty() && !nonPersistent;
    }

    boolean activeAnywhere() {
        return readWrite != null || !readOnly.isEmpty();
    }

    VolumeRecord claim(String domain, boolean ro) {
        TreeSet<String> ros = new TreeSet<>(readOnly);
        if (ro) {
            ros.add(domain);
            return new VolumeRecord(domain.equals(readWrite) ? null : readWrite, List.copyOf(ros), nonPersistent);
        }
        ros.remove(domain);
        return new VolumeRecord(domain, List.copyOf(ros), nonPersistent);
    }

    VolumeRecord release(String domain) {
        TreeSet<String> ros = new TreeSet<>(readOnly);
        ros.remove(domain);
        return new VolumeRecord(domain.equals(readWrite) ? null : readWrite, List.copyOf(ros), nonPersistent);
    }

    VolumeRecord withNonPersistent(boolean value) {
        return new VolumeRecord(readWrite, readOnly, value);
    }

    static VolumeRecord read(Path file) throws IOException {
        return Files.exists(file) ? JSON.readValue(file.toFile(), VolumeRecord.class) : empty();
    }

    void write(Path file) throws IOException {
        if (unused()) {
            Files.deleteIfExists(file);
            return;
        }
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writeValue(tmp.toFile(), this);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
