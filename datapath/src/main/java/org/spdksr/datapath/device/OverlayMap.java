package org.spdksr.datapath.device;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which blocks of a non-persistent disk live in its overlay: per block one of BASE (read the
 * volume), DATA (read the overlay file) or ZERO (discarded: reads as zeros). Kept sparse, in
 * chunks allocated on first touch, so a 3 TiB volume costs memory only for what the guest wrote.
 * Not thread-safe: {@link OverlayBlockDevice} guards it.
 */
final class OverlayMap {
    enum Kind { BASE, DATA, ZERO }

    private static final long MAGIC = 0x7370646b2d6f766cL; // "spdk-ovl"
    private static final int CHUNK_BITS = 1 << 18;
    private static final int CHUNK_LONGS = CHUNK_BITS / 64;

    private static final class Chunk {
        final long[] present = new long[CHUNK_LONGS];
        final long[] zero = new long[CHUNK_LONGS];
    }

    private final long blocks;
    private final Map<Long, Chunk> chunks = new TreeMap<>();
    private boolean dirty;

    OverlayMap(long blocks) {
        this.blocks = blocks;
    }

    Kind kind(long block) {
        Chunk c = chunks.get(block / CHUNK_BITS);
        if (c == null) {
            return Kind.BASE;
        }
        int bit = (int) (block % CHUNK_BITS);
        if ((c.present[bit >>> 6] & (1L << bit)) == 0) {
            return Kind.BASE;
        }
        return (c.zero[bit >>> 6] & (1L << bit)) != 0 ? Kind.ZERO : Kind.DATA;
    }

    /** Marks {@code [first, first+count)} as DATA or ZERO. */
    void mark(long first, long count, Kind kind) {
        if (kind == Kind.BASE) {
            throw new IllegalArgumentException("the overlay never returns a block to the base");
        }
        for (long b = first; b < first + count; b++) {
            Chunk c = chunks.computeIfAbsent(b / CHUNK_BITS, k -> new Chunk());
            int bit = (int) (b % CHUNK_BITS);
            c.present[bit >>> 6] |= 1L << bit;
            if (kind == Kind.ZERO) {
                c.zero[bit >>> 6] |= 1L << bit;
            } else {
                c.zero[bit >>> 6] &= ~(1L << bit);
            }
        }
        dirty = true;
    }

    boolean dirty() {
        return dirty;
    }

    /** Writes the map beside the overlay (temporary file, then rename) so a restarted blkifd finds it. */
    void save(Path file) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(tmp)))) {
            out.writeLong(MAGIC);
            out.writeLong(blocks);
            out.writeInt(chunks.size());
            for (Map.Entry<Long, Chunk> e : chunks.entrySet()) {
                out.writeLong(e.getKey());
                for (long v : e.getValue().present) {
                    out.writeLong(v);
                }
                for (long v : e.getValue().zero) {
                    out.writeLong(v);
                }
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        dirty = false;
    }

    static OverlayMap load(Path file, long blocks) throws IOException {
        OverlayMap map = new OverlayMap(blocks);
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file)))) {
            if (in.readLong() != MAGIC || in.readLong() != blocks) {
                throw new IOException("overlay map " + file + " is not a map of a " + blocks
                        + "-block disk; remove it together with its overlay to start the non-persistent disk afresh");
            }
            int n = in.readInt();
            for (int i = 0; i < n; i++) {
                Chunk c = new Chunk();
                long index = in.readLong();
                for (int j = 0; j < CHUNK_LONGS; j++) {
                    c.present[j] = in.readLong();
                }
                for (int j = 0; j < CHUNK_LONGS; j++) {
                    c.zero[j] = in.readLong();
                }
                map.chunks.put(index, c);
            }
        }
        return map;
    }
}
