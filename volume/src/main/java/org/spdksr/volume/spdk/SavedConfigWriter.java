package org.spdksr.volume.spdk;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.plugin.spdk.SpdkClient;
import org.spdksr.plugin.spdk.SpdkRpcException;

/**
 * Keeps the file spdk_tgt is started with ({@code -c}, spdk-rpc.md §3) equal to its running
 * configuration, the way {@code rpc.py save_config} would (§4). It is rewritten whenever a base
 * bdev is attached or detached: base bdevs are all the config has to bring back, since lvstores
 * and lvols are found again by examine (§4, §5).
 */
final class SavedConfigWriter {
    private static final Logger LOG = LoggerFactory.getLogger(SavedConfigWriter.class);

    private final ObjectMapper mapper = new ObjectMapper();

    void save(SpdkClient client, Path file) throws SpdkRpcException, IOException {
        Files.createDirectories(file.toAbsolutePath().getParent());
        // Several SRs share one spdk_tgt: serialise read-config-then-write so no writer loses another's bdev.
        Path lockFile = file.resolveSibling("." + file.getFileName() + ".lock");
        try (FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = channel.lock()) {
            client.saveConfig().writeTo(file, mapper);
        }
        LOG.info("saved the spdk_tgt configuration to {}", file);
    }
}
