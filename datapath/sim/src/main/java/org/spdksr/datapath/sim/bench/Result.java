package org.spdksr.datapath.sim.bench;

/** Completed operations over a measured interval. */
record Result(long operations, long bytes, double seconds) {
    double iops() {
        return operations / seconds;
    }

    double mibPerSecond() {
        return bytes / seconds / (1 << 20);
    }
}
