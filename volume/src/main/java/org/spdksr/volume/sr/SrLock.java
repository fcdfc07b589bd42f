package org.spdksr.volume.sr;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The SR lock. xapi-storage-script runs calls in parallel (smapiv3.md §3.1), each in its own
 * process today and in one resident daemon later, so the lock is a kernel file lock (between
 * processes) behind a per-file mutex (between threads: one JVM may not hold two locks on a file).
 */
public final class SrLock {
    private final Map<Path, ReentrantLock> mutexes = new ConcurrentHashMap<>();

    /** A held lock; closing it releases both levels. */
    public interface Held extends AutoCloseable {
        @Override
        void close() throws IOException;
    }

    public Held acquire(Path lockFile) throws IOException {
        ReentrantLock mutex = mutexes.computeIfAbsent(lockFile.toAbsolutePath(), p -> new ReentrantLock());
        mutex.lock();
        FileChannel channel = null;
        try {
            channel = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            // Blocks without a time limit, as the caller does: there is no timeout to honour.
            FileLock lock = channel.lock();
            FileChannel held = channel;
            return () -> {
                try {
                    lock.release();
                    held.close();
                } finally {
                    mutex.unlock();
                }
            };
        } catch (IOException | RuntimeException e) {
            if (channel != null) {
                channel.close();
            }
            mutex.unlock();
            throw e;
        }
    }
}
