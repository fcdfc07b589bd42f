package org.spdksr.plugin.spdk.sim;

import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.BitSet;

/**
 * The data of lvols that have been exported (a vhost-user-blk controller was made for them): one
 * sparse raw file per lvol beside the lvstore's base device, {@code <base>.lvols/<lvol uuid>.raw},
 * which the exporting qemu-storage-daemon reads and writes. The rest of the simulator keeps
 * metadata only; lvols never exported have no file.
 *
 * <p>Allocation follows the file: a cluster that gained data since the last look is allocated in
 * the lvol, a cluster that became a hole (a guest discard punched it) is freed, so a guest discard
 * frees lvol clusters as on spdk_tgt (spdk-rpc.md §6: thin lvols, num_allocated_clusters). A
 * snapshot or clone gets a full copy of its source's file; the snapshot's origin keeps its file
 * but, as in SPDK, owns none of its clusters afterwards. Where this model and SPDK part: an
 * overwrite of a cluster the origin's file already holds does not allocate it to the origin again.
 */
final class LvolData {
    private interface C extends Library {
        long lseek(int fd, long offset, int whence) throws LastErrorException;

        int open(String path, int flags) throws LastErrorException;

        int close(int fd) throws LastErrorException;
    }

    private static final int SEEK_DATA = 3;
    private static final int SEEK_HOLE = 4;
    private static final int ENXIO = 6;
    private static final C LIBC = Native.load("c", C.class);

    private LvolData() {
    }

    static Path fileOf(SimLvstore store, SimLvol lvol) {
        Path base = store.base.backing;
        return base.resolveSibling(base.getFileName() + ".lvols").resolve(lvol.uuid + ".raw");
    }

    /** Creates the lvol's file (sparse, the lvol's size) if it has none yet. */
    static Path materialise(SimLvstore store, SimLvol lvol) throws IOException {
        Path file = fileOf(store, lvol);
        if (!Files.exists(file)) {
            Files.createDirectories(file.getParent());
            resize(store, lvol, file);
            lvol.seen = clustersWithData(file, store.clusterSize);
        }
        return file;
    }

    static void resize(SimLvstore store, SimLvol lvol, Path file) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.setLength(lvol.numClusters * store.clusterSize);
        }
    }

    /** A new lvol made from {@code source} (snapshot or clone) starts as a copy of its data. */
    static void copy(SimLvstore store, SimLvol source, SimLvol target) throws IOException {
        Path from = fileOf(store, source);
        if (!Files.exists(from)) {
            return;
        }
        Path to = fileOf(store, target);
        // cp keeps the holes (Files.copy would fill them), so the copy allocates no more than the source.
        Process cp = new ProcessBuilder("cp", "--sparse=always", "--reflink=auto", from.toString(), to.toString())
                .redirectErrorStream(true).start();
        try {
            String out = new String(cp.getInputStream().readAllBytes());
            if (cp.waitFor() != 0) {
                throw new IOException("cp " + from + " " + to + " failed: " + out);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted copying " + from, e);
        }
        target.seen = clustersWithData(to, store.clusterSize);
    }

    static void delete(SimLvstore store, SimLvol lvol) throws IOException {
        Files.deleteIfExists(fileOf(store, lvol));
    }

    /** Brings the lvol's allocation up to date with what happened to its file since the last look. */
    static void sync(SimLvstore store, SimLvol lvol) throws IOException {
        Path file = fileOf(store, lvol);
        if (lvol.seen == null || !Files.exists(file)) {
            return;
        }
        BitSet now = clustersWithData(file, store.clusterSize);
        BitSet gained = (BitSet) now.clone();
        gained.andNot(lvol.seen);
        BitSet lost = (BitSet) lvol.seen.clone();
        lost.andNot(now);
        lvol.allocated.or(gained);
        lvol.allocated.andNot(lost);
        lvol.seen = now;
    }

    /** The clusters holding at least one data extent, found with SEEK_DATA / SEEK_HOLE. */
    static BitSet clustersWithData(Path file, long clusterSize) throws IOException {
        BitSet clusters = new BitSet();
        long size = Files.size(file);
        int fd = LIBC.open(file.toString(), 0 /* O_RDONLY */);
        try {
            long pos = 0;
            while (pos < size) {
                long data;
                try {
                    data = LIBC.lseek(fd, pos, SEEK_DATA);
                } catch (LastErrorException e) {
                    if (e.getErrorCode() == ENXIO) {
                        break; // no data past pos
                    }
                    throw new IOException("SEEK_DATA in " + file + ": errno " + e.getErrorCode(), e);
                }
                long hole = LIBC.lseek(fd, data, SEEK_HOLE);
                clusters.set((int) (data / clusterSize), (int) ((hole + clusterSize - 1) / clusterSize));
                pos = hole;
            }
        } finally {
            LIBC.close(fd);
        }
        return clusters;
    }
}
