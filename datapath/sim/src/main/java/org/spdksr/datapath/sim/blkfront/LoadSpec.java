package org.spdksr.datapath.sim.blkfront;

import java.time.Duration;

/**
 * A load for {@link LoadGenerator}: how deep, how long, where and what mix.
 *
 * @param inFlightPerQueue requests kept in flight on each queue
 * @param requests stop after this many requests in total
 * @param maxDuration or after this long, whichever comes first
 * @param firstSector the region the load works on, in 512-byte sectors ...
 * @param sectorCount ... and its size (the model keeps it in memory)
 * @param minSectors smallest read/write
 * @param maxSectors largest read/write (more than 88 needs indirect requests)
 * @param readWeight relative frequency of READ
 * @param writeWeight relative frequency of WRITE
 * @param flushWeight relative frequency of empty FLUSH_DISKCACHE (only if advertised)
 * @param discardWeight relative frequency of DISCARD (only if advertised)
 * @param alignedToPages false lets buffers start at any sector of their first page
 * @param seed for the random choices, so a failing run can be repeated
 */
public record LoadSpec(int inFlightPerQueue, long requests, Duration maxDuration, long firstSector, int sectorCount,
        int minSectors, int maxSectors, int readWeight, int writeWeight, int flushWeight, int discardWeight,
        boolean alignedToPages, long seed) {

    public LoadSpec {
        if (inFlightPerQueue < 1 || minSectors < 1 || maxSectors < minSectors || sectorCount < maxSectors) {
            throw new IllegalArgumentException("load spec out of range: " + inFlightPerQueue + " in flight, "
                    + minSectors + ".." + maxSectors + " sectors in a region of " + sectorCount);
        }
        if (readWeight + writeWeight + flushWeight + discardWeight <= 0) {
            throw new IllegalArgumentException("load spec has no operations (all weights 0)");
        }
    }

    public LoadSpec withMaxDuration(Duration v) {
        return new LoadSpec(inFlightPerQueue, requests, v, firstSector, sectorCount, minSectors, maxSectors, readWeight,
                writeWeight, flushWeight, discardWeight, alignedToPages, seed);
    }

    /** A verified random mix: 4 KiB to 64 KiB, reads and writes, some flushes and discards. */
    public static LoadSpec mixed(int inFlightPerQueue, long requests, int sectorCount, long seed) {
        return new LoadSpec(inFlightPerQueue, requests, Duration.ofMinutes(5), 0, sectorCount, 1, 128, 45, 45, 5, 5,
                false, seed);
    }

    /** Fixed-size random reads or writes, for figures (4 KiB random, 1 MiB sequential-ish). */
    public static LoadSpec uniform(int inFlightPerQueue, Duration duration, int sectorCount, int sectors,
            boolean write, long seed) {
        return new LoadSpec(inFlightPerQueue, Long.MAX_VALUE, duration, 0, sectorCount, sectors, sectors,
                write ? 0 : 1, write ? 1 : 0, 0, 0, true, seed);
    }
}
