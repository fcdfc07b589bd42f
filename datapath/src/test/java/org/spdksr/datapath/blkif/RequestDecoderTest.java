package org.spdksr.datapath.blkif;

import static org.assertj.core.api.Assertions.assertThat;
import static org.spdksr.datapath.blkif.BlkifConstants.*;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** Offsets here are typed in from the tables of blkif.md §1.4 and §1.5, not taken from {@link Abi}. */
class RequestDecoderTest {

    private static ByteBuffer slot(int size) {
        return ByteBuffer.allocate(size).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void slotSizesAndRingEntriesMatchTheDocument() {
        assertThat(Abi.X86_64.slotSize()).isEqualTo(112);
        assertThat(Abi.X86_32.slotSize()).isEqualTo(108);
        int[] expected = {32, 64, 128, 256, 512};
        for (int order = 0; order <= 4; order++) {
            assertThat(BackRing.entries(Abi.X86_64, order)).isEqualTo(expected[order]);
            assertThat(BackRing.entries(Abi.X86_32, order)).isEqualTo(expected[order]);
        }
    }

    @Test
    void absentProtocolKeyMeansX86_32AndArmIsRefused() {
        assertThat(Abi.fromProtocolKey(null)).contains(Abi.X86_32);
        assertThat(Abi.fromProtocolKey("x86_64-abi")).contains(Abi.X86_64);
        assertThat(Abi.fromProtocolKey("arm-abi")).isEmpty();
    }

    @Test
    void x86_64ReadWithTwoSegments() {
        ByteBuffer b = slot(112);
        b.put(0, (byte) OP_READ).put(1, (byte) 2).putLong(8, 0xdeadbeefcafeL).putLong(16, 2048);
        b.putInt(24, 77).put(28, (byte) 0).put(29, (byte) 7);
        b.putInt(32, 78).put(36, (byte) 2).put(37, (byte) 3);
        BlkifRequest r = new RequestDecoder(Abi.X86_64, 256).decode(b.array());
        assertThat(r).isEqualTo(new BlkifRequest.Direct(OP_READ, OP_READ, 0xdeadbeefcafeL, 2048,
                List.of(new Segment(77, 0, 7), new Segment(78, 2, 3))));
    }

    @Test
    void x86_32WriteUsesPackedOffsets() {
        ByteBuffer b = slot(108);
        b.put(0, (byte) OP_WRITE).put(1, (byte) 1).putLong(4, 42).putLong(12, 9);
        b.putInt(20, 5).put(24, (byte) 1).put(25, (byte) 1);
        BlkifRequest r = new RequestDecoder(Abi.X86_32, 0).decode(b.array());
        assertThat(r).isEqualTo(new BlkifRequest.Direct(OP_WRITE, OP_WRITE, 42, 9, List.of(new Segment(5, 1, 1))));
    }

    @Test
    void discardInBothAbis() {
        ByteBuffer b64 = slot(112);
        b64.put(0, (byte) OP_DISCARD).put(1, (byte) 1).putLong(8, 3).putLong(16, 4096).putLong(24, 8192);
        assertThat(new RequestDecoder(Abi.X86_64, 0).decode(b64.array()))
                .isEqualTo(new BlkifRequest.Discard(3, 4096, 8192, true));
        ByteBuffer b32 = slot(108);
        b32.put(0, (byte) OP_DISCARD).putLong(4, 3).putLong(12, 4096).putLong(20, 8192);
        assertThat(new RequestDecoder(Abi.X86_32, 0).decode(b32.array()))
                .isEqualTo(new BlkifRequest.Discard(3, 4096, 8192, false));
    }

    @Test
    void indirectHeaderAndDescriptorPages() {
        ByteBuffer b = slot(112);
        b.put(0, (byte) OP_INDIRECT).put(1, (byte) OP_WRITE).putShort(2, (short) 513).putLong(8, 11).putLong(16, 64);
        b.putShort(24, (short) 0xca).putInt(28, 900).putInt(32, 901);
        RequestDecoder decoder = new RequestDecoder(Abi.X86_64, 1024);
        BlkifRequest r = decoder.decode(b.array());
        assertThat(r).isEqualTo(new BlkifRequest.Indirect(OP_WRITE, 11, 64, 513, List.of(900, 901)));

        ByteBuffer pages = ByteBuffer.allocate(2 * PAGE_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < 513; i++) {
            pages.putInt(i * 8, 1000 + i).put(i * 8 + 4, (byte) 0).put(i * 8 + 5, (byte) 7);
        }
        BlkifRequest resolved = decoder.resolveIndirect((BlkifRequest.Indirect) r, pages.array());
        assertThat(resolved).isInstanceOfSatisfying(BlkifRequest.Direct.class, d -> {
            // The response carries the inner op, as Linux blkfront checks (seen on real Xen).
            assertThat(d.operation()).isEqualTo(OP_WRITE);
            assertThat(d.ioOperation()).isEqualTo(OP_WRITE);
            assertThat(d.segments()).hasSize(513).last().isEqualTo(new Segment(1512, 0, 7));
        });

        pages.put(300 * 8 + 4, (byte) 5).put(300 * 8 + 5, (byte) 4);
        assertThat(decoder.resolveIndirect((BlkifRequest.Indirect) r, pages.array()))
                .isInstanceOfSatisfying(BlkifRequest.Malformed.class, m -> {
                    assertThat(m.id()).isEqualTo(11);
                    assertThat(m.reason()).contains("indirect segment 300");
                });
    }

    @Test
    void x86_32IndirectOffsets() {
        ByteBuffer b = slot(108);
        b.put(0, (byte) OP_INDIRECT).put(1, (byte) OP_READ).putShort(2, (short) 16).putLong(4, 12).putLong(12, 8);
        b.putInt(24, 555);
        assertThat(new RequestDecoder(Abi.X86_32, 256).decode(b.array()))
                .isEqualTo(new BlkifRequest.Indirect(OP_READ, 12, 8, 16, List.of(555)));
    }

    @Test
    void hostileHeadersAreRejectedWithTheIdEchoed() {
        RequestDecoder decoder = new RequestDecoder(Abi.X86_64, 256);
        record Case(int op, int byte1, int nrIndirect, short status) {}
        for (Case c : List.of(
                new Case(OP_READ, 12, 0, RSP_ERROR),            // too many direct segments
                new Case(OP_WRITE, 0, 0, RSP_ERROR),            // write without data
                new Case(OP_RESERVED_1, 0, 0, RSP_EOPNOTSUPP),  // reserved op
                new Case(200, 0, 0, RSP_EOPNOTSUPP),            // unknown op
                new Case(OP_INDIRECT, OP_FLUSH_DISKCACHE, 4, RSP_ERROR), // indirect flush
                new Case(OP_INDIRECT, OP_READ, 0, RSP_ERROR),   // indirect without segments
                new Case(OP_INDIRECT, OP_READ, 257, RSP_ERROR))) { // more than advertised
            ByteBuffer b = slot(112);
            b.put(0, (byte) c.op()).put(1, (byte) c.byte1()).putLong(8, 99);
            if (c.op() == OP_INDIRECT) {
                b.putShort(2, (short) c.nrIndirect());
            }
            assertThat(decoder.decode(b.array())).as("op %d", c.op())
                    .isInstanceOfSatisfying(BlkifRequest.Malformed.class, m -> {
                        assertThat(m.id()).isEqualTo(99);
                        assertThat(m.operation()).isEqualTo(c.op() == OP_INDIRECT ? c.byte1() : c.op());
                        assertThat(m.status()).isEqualTo(c.status());
                    });
        }
        ByteBuffer b = slot(112);
        b.put(0, (byte) OP_READ).put(1, (byte) 1).putLong(8, 7).put(28, (byte) 3).put(29, (byte) 8);
        assertThat(decoder.decode(b.array())).isInstanceOf(BlkifRequest.Malformed.class);
        assertThat(new RequestDecoder(Abi.X86_64, 0).decode(indirectOf(4)))
                .isInstanceOfSatisfying(BlkifRequest.Malformed.class, m -> assertThat(m.status()).isEqualTo(RSP_EOPNOTSUPP));
    }

    private static byte[] indirectOf(int nr) {
        ByteBuffer b = slot(112);
        b.put(0, (byte) OP_INDIRECT).put(1, (byte) OP_READ).putShort(2, (short) nr);
        return b.array();
    }

    /** Whatever the guest writes in a slot, decoding yields a request carrying the slot's id. */
    @Property(tries = 2000)
    void anySlotDecodesWithoutThrowing(@ForAll @Size(112) byte[] raw64, @ForAll @Size(108) byte[] raw32) {
        BlkifRequest r64 = new RequestDecoder(Abi.X86_64, 256).decode(raw64);
        assertThat(r64.id()).isEqualTo(ByteBuffer.wrap(raw64).order(ByteOrder.LITTLE_ENDIAN).getLong(8));
        BlkifRequest r32 = new RequestDecoder(Abi.X86_32, 256).decode(raw32);
        assertThat(r32.id()).isEqualTo(ByteBuffer.wrap(raw32).order(ByteOrder.LITTLE_ENDIAN).getLong(4));
    }
}
