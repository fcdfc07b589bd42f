package org.spdksr.datapath.xen.sim.evtchn;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Optional;
import java.util.Properties;

/**
 * The port table of all simulated domains, shared by processes through files: one file per bound
 * port, replaced atomically, and a lock file that serialises allocations and bindings across
 * processes (what the hypervisor's event lock does for real event channels).
 */
final class SimPortRegistry {
    private final Path dir;

    SimPortRegistry(Path dir) throws IOException {
        this.dir = dir;
        Files.createDirectories(dir);
    }

    Path dir() {
        return dir;
    }

    interface LockedAction<T> {
        T run() throws IOException;
    }

    <T> T locked(LockedAction<T> action) throws IOException {
        try (FileChannel ch = FileChannel.open(dir.resolve("lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE)) {
            FileLock lock = null;
            while (lock == null) {
                try {
                    lock = ch.lock();
                } catch (OverlappingFileLockException e) {
                    // Another evtchn instance of this JVM holds it; file locks are per process, so wait here.
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException("interrupted waiting for the event channel registry lock");
                    }
                }
            }
            try {
                return action.run();
            } finally {
                lock.release();
            }
        }
    }

    private Path file(int domid, int port) {
        return dir.resolve("d" + domid + "p" + port);
    }

    Optional<PortRecord> read(int domid, int port) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(file(domid, port))) {
            p.load(in);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        return Optional.of(PortRecord.fromProperties(domid, port, p));
    }

    void write(PortRecord r) throws IOException {
        Path tmp = Files.createTempFile(dir, ".port", ".tmp");
        try (OutputStream out = Files.newOutputStream(tmp)) {
            r.toProperties().store(out, null);
        }
        // Readers never take the lock, so they must see either the old or the new record, whole.
        Files.move(tmp, file(r.domid(), r.port()), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

    void delete(int domid, int port) throws IOException {
        Files.deleteIfExists(file(domid, port));
    }

    /** The lowest free port of {@code domid}; call under {@link #locked}. Port 0 is never used, as in Xen. */
    int freePort(int domid) {
        int port = 1;
        while (Files.exists(file(domid, port))) {
            port++;
        }
        return port;
    }
}
