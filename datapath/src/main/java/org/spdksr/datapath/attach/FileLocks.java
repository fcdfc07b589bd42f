package org.spdksr.datapath.attach;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Host-wide mutual exclusion between concurrent datapath commands (xapi-storage-script runs them
 * in parallel, smapiv3.md §3.1): an fcntl lock on a file, released by the kernel when a command
 * dies, so a killed command never leaves a lock behind.
 */
final class FileLocks {
    private FileLocks() {
    }

    interface Body<T> {
        T run() throws IOException;
    }

    static <T> T with(Path lockFile, Body<T> body) throws IOException {
        Files.createDirectories(lockFile.getParent());
        try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                FileLock lock = ch.lock()) {
            return body.run();
        }
    }
}
