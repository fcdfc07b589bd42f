package org.spdksr.datapath.blkif;

import java.util.Optional;

/**
 * The two request layouts a guest may use (blkif.md §1.4, §1.5). They differ in the slot stride
 * and in where the 64-bit fields sit, because i386 aligns u64 to 4; the response layout is the
 * same in both.
 */
public enum Abi {
    X86_64("x86_64-abi", 112, 8, 16, 24, 24, 24, 28),
    X86_32("x86_32-abi", 108, 4, 12, 20, 20, 20, 24);

    private final String protocolName;
    private final int slotSize;
    private final int idOffset;
    private final int sectorOffset;
    private final int segmentsOffset;
    private final int discardSectorsOffset;
    private final int indirectHandleOffset;
    private final int indirectGrefsOffset;

    Abi(String protocolName, int slotSize, int idOffset, int sectorOffset, int segmentsOffset,
            int discardSectorsOffset, int indirectHandleOffset, int indirectGrefsOffset) {
        this.protocolName = protocolName;
        this.slotSize = slotSize;
        this.idOffset = idOffset;
        this.sectorOffset = sectorOffset;
        this.segmentsOffset = segmentsOffset;
        this.discardSectorsOffset = discardSectorsOffset;
        this.indirectHandleOffset = indirectHandleOffset;
        this.indirectGrefsOffset = indirectGrefsOffset;
    }

    /**
     * The ABI a frontend's {@code protocol} key names. An absent key means x86_32, as Linux
     * blkback and tapback assume on x86 (blkif.md §1.5); an unknown one (arm-abi) is refused.
     */
    public static Optional<Abi> fromProtocolKey(String value) {
        if (value == null) {
            return Optional.of(X86_32);
        }
        for (Abi abi : values()) {
            if (abi.protocolName.equals(value)) {
                return Optional.of(abi);
            }
        }
        return Optional.empty();
    }

    public String protocolName() {
        return protocolName;
    }

    /** Bytes per ring slot; the request union is the largest member. */
    public int slotSize() {
        return slotSize;
    }

    int idOffset() {
        return idOffset;
    }

    int sectorOffset() {
        return sectorOffset;
    }

    int segmentsOffset() {
        return segmentsOffset;
    }

    int discardSectorsOffset() {
        return discardSectorsOffset;
    }

    int indirectHandleOffset() {
        return indirectHandleOffset;
    }

    int indirectGrefsOffset() {
        return indirectGrefsOffset;
    }
}
