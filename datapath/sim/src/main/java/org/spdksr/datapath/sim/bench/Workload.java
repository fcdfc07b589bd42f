package org.spdksr.datapath.sim.bench;

/** One benchmark pattern: request size, direction and access order. */
public record Workload(String name, int bytes, boolean write, boolean sequential) {
    public static final Workload RAND_READ_4K = new Workload("4k randread", 4096, false, false);
    public static final Workload RAND_WRITE_4K = new Workload("4k randwrite", 4096, true, false);
    public static final Workload SEQ_READ_1M = new Workload("1m seqread", 1 << 20, false, true);
    public static final Workload SEQ_WRITE_1M = new Workload("1m seqwrite", 1 << 20, true, true);

    /** fio's name for the same pattern. */
    String fioRw() {
        return sequential ? (write ? "write" : "read") : (write ? "randwrite" : "randread");
    }
}
