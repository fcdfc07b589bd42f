package org.spdksr.datapath.sim.blkfront;

import org.spdksr.datapath.blkif.Abi;

/**
 * Field offsets of a request slot as a frontend writes them (blkif.md §1.4, §1.5). The
 * backend's {@link Abi} keeps its offsets to itself; the frontend states them again from the
 * document, so the round-trip tests check one reading against the other.
 */
record SlotLayout(int id, int sector, int segments, int discardSectors, int indirectHandle, int indirectGrefs) {
    static final int OPERATION = 0;
    static final int NR_SEGMENTS = 1;
    static final int HANDLE = 2;
    static final int DISCARD_FLAG = 1;
    static final int INDIRECT_OP = 1;
    static final int INDIRECT_NR_SEGMENTS = 2;

    private static final SlotLayout X86_64 = new SlotLayout(8, 16, 24, 24, 24, 28);
    private static final SlotLayout X86_32 = new SlotLayout(4, 12, 20, 20, 20, 24);

    static SlotLayout of(Abi abi) {
        return abi == Abi.X86_64 ? X86_64 : X86_32;
    }
}
