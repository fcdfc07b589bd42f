package org.spdksr.datapath.sim.blkfront;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.spdksr.datapath.blkif.Abi;
import org.spdksr.datapath.blkif.BlkifRequest;
import org.spdksr.datapath.blkif.RequestDecoder;
import org.spdksr.datapath.blkif.Segment;

/**
 * The frontend's encoding, read back by the backend's decoder: two independent readings of
 * blkif.md §1.4–§1.6 must agree for both ABIs and every operation.
 */
class RequestEncoderRoundTripTest {

    @Provide
    Arbitrary<Abi> abis() {
        return Arbitraries.of(Abi.values());
    }

    @Provide
    Arbitrary<List<SegmentDescriptor>> segments() {
        Arbitrary<SegmentDescriptor> one = Arbitraries.integers().between(0, 7).flatMap(first ->
                Arbitraries.integers().between(first, 7).flatMap(last ->
                        Arbitraries.integers().map(gref -> new SegmentDescriptor(gref, first, last))));
        return one.list().ofMinSize(1).ofMaxSize(11);
    }

    @Property(tries = 300)
    void directRequestsDecodeToWhatWasEncoded(@ForAll("abis") Abi abi, @ForAll @IntRange(min = 0, max = 3) int op,
            @ForAll long id, @ForAll long sector, @ForAll("segments") List<SegmentDescriptor> segs) {
        byte[] slot = new RequestEncoder(abi, 51712).encode(new FrontRequest.ReadWrite(op, id, sector, segs));
        assertThat(slot).hasSize(abi.slotSize());
        BlkifRequest r = new RequestDecoder(abi, 256).decode(slot);
        assertThat(r).isInstanceOf(BlkifRequest.Direct.class);
        BlkifRequest.Direct d = (BlkifRequest.Direct) r;
        assertThat(d.operation()).isEqualTo(op);
        assertThat(d.ioOperation()).isEqualTo(op);
        assertThat(d.id()).isEqualTo(id);
        assertThat(d.sector()).isEqualTo(sector);
        assertThat(d.segments()).isEqualTo(asSegments(segs));
    }

    @Property(tries = 100)
    void discardsKeepSectorCountAndSecureFlag(@ForAll("abis") Abi abi, @ForAll long id, @ForAll long sector,
            @ForAll long count, @ForAll boolean secure) {
        byte[] slot = new RequestEncoder(abi, 768).encode(new FrontRequest.Discard(id, sector, count, secure));
        assertThat(new RequestDecoder(abi, 0).decode(slot))
                .isEqualTo(new BlkifRequest.Discard(id, sector, count, secure));
    }

    @Property(tries = 200)
    void indirectRequestsAndTheirDescriptorPagesResolve(@ForAll("abis") Abi abi, @ForAll boolean write,
            @ForAll long id, @ForAll long sector, @ForAll @IntRange(min = 1, max = 4096) int nr) {
        int pages = (nr + 511) / 512;
        List<Integer> grefs = new ArrayList<>();
        for (int i = 0; i < pages; i++) {
            grefs.add(1000 + i);
        }
        int op = write ? 1 : 0;
        byte[] slot = new RequestEncoder(abi, 51712).encode(new FrontRequest.Indirect(op, id, sector, nr, grefs));
        RequestDecoder decoder = new RequestDecoder(abi, 4096);
        BlkifRequest r = decoder.decode(slot);
        assertThat(r).isEqualTo(new BlkifRequest.Indirect(op, id, sector, nr, grefs));

        List<SegmentDescriptor> segs = new ArrayList<>();
        for (int i = 0; i < nr; i++) {
            segs.add(new SegmentDescriptor(50_000 + i, i % 8, 7));
        }
        ByteBuffer descriptors = ByteBuffer.allocate(pages * 4096);
        RequestEncoder.encodeDescriptors(segs, descriptors, 0);
        BlkifRequest resolved = decoder.resolveIndirect((BlkifRequest.Indirect) r, descriptors.array());
        // Answered with the inner operation, as Linux blkfront checks.
        assertThat(resolved).isEqualTo(new BlkifRequest.Direct(op, op, id, sector, asSegments(segs)));
    }

    @ParameterizedTest
    @EnumSource(Abi.class)
    void emptyFlushAndBarrierAndUnknownOpsKeepTheirId(Abi abi) {
        RequestEncoder enc = new RequestEncoder(abi, 1);
        RequestDecoder dec = new RequestDecoder(abi, 0);
        assertThat(dec.decode(enc.encode(new FrontRequest.ReadWrite(3, 77, 0, List.of()))))
                .isEqualTo(new BlkifRequest.Direct(3, 3, 77, 0, List.of()));
        assertThat(dec.decode(enc.encode(new FrontRequest.ReadWrite(2, 78, 0, List.of()))))
                .isEqualTo(new BlkifRequest.Direct(2, 2, 78, 0, List.of()));
        BlkifRequest unknown = dec.decode(enc.encode(new FrontRequest.ReadWrite(4, 79, 0, List.of())));
        assertThat(unknown).isInstanceOf(BlkifRequest.Malformed.class);
        assertThat(unknown.id()).isEqualTo(79);
        assertThat(enc.idOf(enc.encode(new FrontRequest.ReadWrite(200, 80, 0, List.of())))).isEqualTo(80);
    }

    @ParameterizedTest
    @EnumSource(Abi.class)
    void hostileShapesReachTheDecoderAsMalformed(Abi abi) {
        RequestEncoder enc = new RequestEncoder(abi, 1);
        RequestDecoder dec = new RequestDecoder(abi, 32);
        List<SegmentDescriptor> twelve = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            twelve.add(new SegmentDescriptor(i, 0, 7));
        }
        assertThat(dec.decode(enc.encode(new FrontRequest.ReadWrite(0, 1, 0, twelve))))
                .isInstanceOf(BlkifRequest.Malformed.class);
        assertThat(dec.decode(enc.encode(new FrontRequest.ReadWrite(0, 2, 0, List.of(new SegmentDescriptor(9, 0, 8))))))
                .isInstanceOf(BlkifRequest.Malformed.class);
        assertThat(dec.decode(enc.encode(new FrontRequest.ReadWrite(1, 3, 0, List.of(new SegmentDescriptor(9, 5, 4))))))
                .isInstanceOf(BlkifRequest.Malformed.class);
        assertThat(dec.decode(enc.encode(new FrontRequest.Indirect(0, 4, 0, 33, List.of(1)))))
                .isInstanceOf(BlkifRequest.Malformed.class);
        assertThat(dec.decode(enc.encode(new FrontRequest.Indirect(3, 5, 0, 1, List.of(1)))))
                .isInstanceOf(BlkifRequest.Malformed.class);
    }

    private static List<Segment> asSegments(List<SegmentDescriptor> segs) {
        return segs.stream().map(s -> new Segment(s.gref(), s.firstSect(), s.lastSect())).toList();
    }
}
