package org.spdksr.datapath.sim.blkfront;

import java.util.BitSet;

/**
 * What a region of the disk must contain, as far as the load generator knows: bytes written by
 * completed writes, and which sectors are known at all. Sectors never written, discarded, or hit
 * by a failed write are unknown and not compared.
 */
public final class DiskModel {
    private static final int SECTOR = 512;
    private final long firstSector;
    private final byte[] bytes;
    private final BitSet known;

    public DiskModel(long firstSector, int sectors) {
        this.firstSector = firstSector;
        this.bytes = new byte[Math.multiplyExact(sectors, SECTOR)];
        this.known = new BitSet(sectors);
    }

    public synchronized void written(long sector, byte[] data) {
        int at = index(sector);
        System.arraycopy(data, 0, bytes, at * SECTOR, data.length);
        known.set(at, at + data.length / SECTOR);
    }

    /** Contents unspecified from now on (a discard, a failed write). */
    public synchronized void forget(long sector, long count) {
        int at = index(sector);
        known.clear(at, (int) Math.min(known.size(), at + count));
    }

    /**
     * Compares read data with the known sectors.
     *
     * @return null when they agree, else what differs first
     */
    public synchronized String check(long sector, byte[] data) {
        int at = index(sector);
        for (int s = 0; s < data.length / SECTOR; s++) {
            if (!known.get(at + s)) {
                continue;
            }
            for (int i = 0; i < SECTOR; i++) {
                if (data[s * SECTOR + i] != bytes[(at + s) * SECTOR + i]) {
                    return "sector " + (sector + s) + " byte " + i + " read " + data[s * SECTOR + i] + ", expected "
                            + bytes[(at + s) * SECTOR + i];
                }
            }
        }
        return null;
    }

    private int index(long sector) {
        long i = sector - firstSector;
        if (i < 0 || i * SECTOR >= bytes.length) {
            throw new IllegalArgumentException("sector " + sector + " outside the modelled region");
        }
        return (int) i;
    }
}
