package org.spdksr.datapath.xen.linux;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.spdksr.datapath.xen.grant.GrantRef;

/** gntdev request values and struct layouts against blkif.md §2 and §2.1; runs without Xen. */
class GntdevAbiTest {

    @Test
    void ioctlRequestValuesAreTheOnesInBlkifMd() {
        assertThat(GntdevAbi.IOCTL_MAP_GRANT_REF).isEqualTo(0x00184700);
        assertThat(GntdevAbi.IOCTL_UNMAP_GRANT_REF).isEqualTo(0x00104701);
        assertThat(GntdevAbi.IOCTL_GET_OFFSET_FOR_VADDR).isEqualTo(0x00184702);
        assertThat(GntdevAbi.IOCTL_SET_MAX_GRANTS).isEqualTo(0x00044703);
        assertThat(GntdevAbi.IOCTL_SET_UNMAP_NOTIFY).isEqualTo(0x00104707);
        assertThat(GntdevAbi.IOCTL_GRANT_COPY).isEqualTo(0x00104708);
    }

    @Test
    void structSizesMatchBlkifMdAndTheCLayout() {
        assertThat(new CStructs.GrantRef().size()).isEqualTo(GntdevAbi.GRANT_REF_SIZE).isEqualTo(8);
        assertThat(new CStructs.MapGrantRef().size()).isEqualTo(GntdevAbi.MAP_SIZE_ONE_REF).isEqualTo(24);
        assertThat(new CStructs.UnmapGrantRef().size()).isEqualTo(GntdevAbi.UNMAP_SIZE).isEqualTo(16);
        assertThat(new CStructs.GetOffsetForVaddr().size()).isEqualTo(24);
        assertThat(new CStructs.UnmapNotify().size()).isEqualTo(16);
        assertThat(new CStructs.GrantCopy().size()).isEqualTo(GntdevAbi.COPY_SIZE).isEqualTo(16);
        assertThat(new CStructs.CopySegment().size()).isEqualTo(GntdevAbi.SEG_SIZE).isEqualTo(24);
        assertThat(new CStructs.Foreign().size()).isEqualTo(8);
    }

    @Test
    void fieldOffsetsMatchBlkifMdAndTheCLayout() {
        CStructs.GrantRef ref = new CStructs.GrantRef();
        assertThat(ref.offsetOf("domid")).isEqualTo(GntdevAbi.GRANT_REF_DOMID).isZero();
        assertThat(ref.offsetOf("ref")).isEqualTo(GntdevAbi.GRANT_REF_REF).isEqualTo(4);

        CStructs.MapGrantRef map = new CStructs.MapGrantRef();
        assertThat(map.offsetOf("count")).isEqualTo(GntdevAbi.MAP_COUNT).isZero();
        assertThat(map.offsetOf("index")).isEqualTo(GntdevAbi.MAP_INDEX).isEqualTo(8);
        assertThat(map.offsetOf("refs")).isEqualTo(GntdevAbi.MAP_REFS).isEqualTo(16);

        CStructs.UnmapGrantRef unmap = new CStructs.UnmapGrantRef();
        assertThat(unmap.offsetOf("index")).isEqualTo(GntdevAbi.UNMAP_INDEX).isZero();
        assertThat(unmap.offsetOf("count")).isEqualTo(GntdevAbi.UNMAP_COUNT).isEqualTo(8);

        CStructs.GetOffsetForVaddr get = new CStructs.GetOffsetForVaddr();
        assertThat(get.offsetOf("offset")).isEqualTo(8);
        assertThat(get.offsetOf("count")).isEqualTo(16);

        CStructs.UnmapNotify notify = new CStructs.UnmapNotify();
        assertThat(notify.offsetOf("action")).isEqualTo(8);
        assertThat(notify.offsetOf("eventChannelPort")).isEqualTo(12);

        CStructs.GrantCopy copy = new CStructs.GrantCopy();
        assertThat(copy.offsetOf("count")).isEqualTo(GntdevAbi.COPY_COUNT).isZero();
        assertThat(copy.offsetOf("segments")).isEqualTo(GntdevAbi.COPY_SEGMENTS).isEqualTo(8);

        CStructs.CopySegment seg = new CStructs.CopySegment();
        assertThat(seg.offsetOf("source")).isEqualTo(GntdevAbi.SEG_SOURCE).isZero();
        assertThat(seg.offsetOf("dest")).isEqualTo(GntdevAbi.SEG_DEST).isEqualTo(8);
        assertThat(seg.offsetOf("len")).isEqualTo(GntdevAbi.SEG_LEN).isEqualTo(16);
        assertThat(seg.offsetOf("flags")).isEqualTo(GntdevAbi.SEG_FLAGS).isEqualTo(18);
        assertThat(seg.offsetOf("status")).isEqualTo(GntdevAbi.SEG_STATUS).isEqualTo(20);

        CStructs.Foreign foreign = new CStructs.Foreign();
        assertThat(foreign.offsetOf("ref")).isEqualTo(GntdevAbi.FOREIGN_REF).isZero();
        assertThat(foreign.offsetOf("offset")).isEqualTo(GntdevAbi.FOREIGN_OFFSET).isEqualTo(4);
        assertThat(foreign.offsetOf("domid")).isEqualTo(GntdevAbi.FOREIGN_DOMID).isEqualTo(6);
        assertThat(GntdevAbi.GNTCOPY_SOURCE_GREF).isEqualTo(1);
        assertThat(GntdevAbi.GNTCOPY_DEST_GREF).isEqualTo(2);
    }

    @Test
    void mapRequestCarriesAllRefsAfterTheHeader() {
        ByteBuffer b = GntdevAbi.mapRequest(List.of(new GrantRef(5, 0x11), new GrantRef(5, 0x22), new GrantRef(9, 7)));
        assertThat(b.capacity()).isEqualTo(16 + 3 * 8);
        assertThat(b.getInt(0)).isEqualTo(3);
        assertThat(b.getInt(16)).isEqualTo(5);
        assertThat(b.getInt(20)).isEqualTo(0x11);
        assertThat(b.getInt(24)).isEqualTo(5);
        assertThat(b.getInt(28)).isEqualTo(0x22);
        assertThat(b.getInt(32)).isEqualTo(9);
        assertThat(b.getInt(36)).isEqualTo(7);
        assertThat(GntdevAbi.mapRequest(List.of(new GrantRef(1, 1))).capacity()).isEqualTo(24);
        b.putLong(8, 3L << 12);
        assertThat(GntdevAbi.mapIndex(b)).isEqualTo(3L << 12);
    }

    @Test
    void unmapAndCopyRequestsAreLittleEndianAtTheDocumentedOffsets() {
        ByteBuffer u = GntdevAbi.unmapRequest(0x5000, 4);
        assertThat(u.get(0)).isEqualTo((byte) 0x00);
        assertThat(u.get(1)).isEqualTo((byte) 0x50);
        assertThat(u.getInt(8)).isEqualTo(4);
        ByteBuffer c = GntdevAbi.copyRequest(2, 0x1122334455L);
        assertThat(c.getInt(0)).isEqualTo(2);
        assertThat(c.getLong(8)).isEqualTo(0x1122334455L);
        ByteBuffer segs = GntdevAbi.segments(1);
        GntdevAbi.putForeign(segs, 0, new GrantRef(0x1234, 0xabcd), 0x100);
        assertThat(segs.getInt(0)).isEqualTo(0xabcd);
        assertThat(segs.getShort(4)).isEqualTo((short) 0x100);
        assertThat(segs.getShort(6)).isEqualTo((short) 0x1234);
    }
}
