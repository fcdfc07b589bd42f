package org.spdksr.datapath.blkifd.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The attachments of one domain, kept in {@code state.json} by the datapath commands (under the
 * domain lock) and read by blkifd on every reconcile, so a blkifd restarted after a crash serves
 * exactly what the datapath says is attached.
 */
public record DomainState(String domain, Map<String, DiskEntry> disks) {
    private static final ObjectMapper JSON = new ObjectMapper();

    public DomainState {
        disks = Map.copyOf(disks);
    }

    public static DomainState empty(String domain) {
        return new DomainState(domain, Map.of());
    }

    public DomainState with(DiskEntry disk) {
        Map<String, DiskEntry> next = new LinkedHashMap<>(disks);
        next.put(disk.id(), disk);
        return new DomainState(domain, next);
    }

    public DomainState without(String diskId) {
        Map<String, DiskEntry> next = new LinkedHashMap<>(disks);
        next.remove(diskId);
        return new DomainState(domain, next);
    }

    /** The state on disk, or an empty one when there is none yet. */
    public static DomainState read(Path file, String domain) throws IOException {
        if (!Files.exists(file)) {
            return empty(domain);
        }
        try {
            return JSON.readValue(file.toFile(), DomainState.class);
        } catch (IOException e) {
            throw new IOException("cannot read the datapath state " + file + ": " + e.getMessage()
                    + "; it is rewritten by the next attach, or remove it if no VM uses this domain", e);
        }
    }

    /** Writes to a temporary file and renames it over, so a reader never sees half a file. */
    public void write(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        JSON.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), this);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
