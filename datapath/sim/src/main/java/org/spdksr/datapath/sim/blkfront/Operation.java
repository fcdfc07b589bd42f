package org.spdksr.datapath.sim.blkfront;

/** The operations the frontend issues through its ordinary API (blkif.md §1.7). */
public enum Operation {
    READ(0), WRITE(1), WRITE_BARRIER(2), FLUSH_DISKCACHE(3);

    private final int code;

    Operation(int code) {
        this.code = code;
    }

    public int code() {
        return code;
    }

    /** Whether data moves from the guest to the disk (the backend only reads the pages). */
    public boolean writesDisk() {
        return this != READ;
    }
}
