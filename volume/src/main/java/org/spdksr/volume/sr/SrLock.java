package org.spdksr.volume.sr;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The SR lock. xapi-storage-script runs calls in parallel (smapiv3.md §3.1), each in its own
 * process today and in one resident daemon later, so the lock is a kernel file lock (between
 * processes) behind a per-file mutex (between threads: one JVM may not hold two locks on a file).
 *
 * <p>The lock file exists only while its SR does (issue 19: a call on a directory that is not an
 * SR must leave nothing there), so holders unlink it when the SR is gone. A waiter may therefore
 * end up holding the lock of a file that is no longer at the path, or was replaced by the lock of
 * a newer SR; it only counts as held once the path names the file it locked.
 */
public final class SrLock {
    private final Map<Path, ReentrantLock> mutexes = new ConcurrentHashMap<>();

    /** A held lock; closing it releases both levels. */
    public interface Held extends AutoCloseable {
        @Override
        void close() throws IOException;
    }

    /**
     * @param create whether to create the lock file if it is missing
     * @return the held lock, or empty if {@code create} is false and there is no lock file
     */
    public Optional<Held> acquire(Path lockFile, boolean create) throws IOException {
        ReentrantLock mutex = mutexes.computeIfAbsent(lockFile.toAbsolutePath(), p -> new ReentrantLock());
        mutex.lock();
        Optional<Held> held = Optional.empty();
        try {
            held = lockFile(lockFile, create, mutex);
            return held;
        } finally {
            if (held.isEmpty()) {
                mutex.unlock();
            }
        }
    }

    /** The file lock, once the path names the locked file; the returned lock also unlocks {@code mutex}. */
    private static Optional<Held> lockFile(Path lockFile, boolean create, ReentrantLock mutex) throws IOException {
        while (true) {
            // The file's identity before opening and after locking: if equal, the locked file is
            // the one at the path (a file created in between makes them differ: try again).
            Object before = fileKey(lockFile);
            if (before == null && !create) {
                return Optional.empty();
            }
            Set<OpenOption> options = create
                    ? Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE)
                    : Set.of(StandardOpenOption.WRITE);
            FileChannel channel;
            try {
                channel = FileChannel.open(lockFile, options);
            } catch (NoSuchFileException e) {
                if (create) {
                    throw e; // the directory itself is missing
                }
                continue; // unlinked between the look and the open: look again
            }
            FileLock lock;
            try {
                // Blocks without a time limit, as the caller does: there is no timeout to honour.
                lock = channel.lock();
            } catch (IOException | RuntimeException e) {
                channel.close();
                throw e;
            }
            if (before != null && before.equals(fileKey(lockFile))) {
                return Optional.of(() -> {
                    try {
                        lock.release();
                        channel.close();
                    } finally {
                        mutex.unlock();
                    }
                });
            }
            channel.close(); // releases the lock of a file that is gone or replaced
        }
    }

    private static Object fileKey(Path file) throws IOException {
        try {
            return Files.readAttributes(file, BasicFileAttributes.class).fileKey();
        } catch (NoSuchFileException e) {
            return null;
        }
    }
}
