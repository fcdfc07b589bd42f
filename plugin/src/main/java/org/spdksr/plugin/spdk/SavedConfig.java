package org.spdksr.plugin.spdk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * What {@code rpc.py save_config} writes: {@code {"subsystems":[{"subsystem", "config"}]}}
 * (spdk-rpc.md §4), the file {@code spdk_tgt -c} replays at start-up.
 */
public record SavedConfig(JsonNode json) {

    /** The {@code method} of every entry of one subsystem, in order (for tests and logs). */
    public java.util.List<String> methodsOf(String subsystem) {
        java.util.List<String> methods = new java.util.ArrayList<>();
        for (JsonNode entry : json.path("subsystems")) {
            if (subsystem.equals(entry.path("subsystem").asText())) {
                entry.path("config").forEach(c -> methods.add(c.path("method").asText()));
            }
        }
        return methods;
    }

    /** Writes the file atomically: spdk_tgt may be restarted at any moment and must never read half a file. */
    public void writeTo(Path file, ObjectMapper mapper) throws IOException {
        Path directory = file.toAbsolutePath().getParent();
        Files.createDirectories(directory);
        Path temporary = directory.resolve("." + file.getFileName() + ".tmp");
        byte[] bytes = mapper.writerWithDefaultPrettyPrinter().writeValueAsBytes(json);
        try (FileChannel out = FileChannel.open(temporary, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            out.write(java.nio.ByteBuffer.wrap(bytes));
            out.force(true);
        }
        Files.move(temporary, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
