package org.spdksr.datapath.vhost;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.spdksr.datapath.vhost.VhostMessage.ReplyKind;

class VhostCodecTest {

    private static ByteBuffer le(byte[] b) {
        return ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
    }

    @Test
    void headerCarriesCodeVersionAndSize() {
        ByteBuffer b = le(VhostCodec.encode(new VhostMessage.GetFeatures(), false));
        assertThat(b.capacity()).isEqualTo(12);
        assertThat(b.getInt(0)).isEqualTo(1);
        assertThat(b.getInt(4)).isEqualTo(VhostCodec.VERSION);
        assertThat(b.getInt(8)).isZero();
        ByteBuffer ack = le(VhostCodec.encode(new VhostMessage.SetFeatures(0x1_4000_0000L), true));
        assertThat(ack.getInt(4)).isEqualTo(VhostCodec.VERSION | VhostCodec.FLAG_NEED_REPLY);
        assertThat(ack.getInt(8)).isEqualTo(8);
        assertThat(ack.getLong(12)).isEqualTo(0x1_4000_0000L);
    }

    @Test
    void payloadLayoutsFollowTheSpec() {
        ByteBuffer mem = le(VhostCodec.encode(new VhostMessage.SetMemTable(
                List.of(new VhostMessage.MemoryRegion(0x1000, 0x200000, 0x7f0000001000L, 0)), new int[] {7}), false));
        assertThat(mem.getInt(0)).isEqualTo(5);
        assertThat(mem.getInt(8)).isEqualTo(8 + 32);
        assertThat(mem.getInt(12)).isEqualTo(1);
        assertThat(mem.getLong(20)).isEqualTo(0x1000);
        assertThat(mem.getLong(28)).isEqualTo(0x200000);
        assertThat(mem.getLong(36)).isEqualTo(0x7f0000001000L);

        ByteBuffer addr = le(VhostCodec.encode(new VhostMessage.SetVringAddr(1, 0xa000, 0xc000, 0xb000), false));
        assertThat(addr.getInt(8)).isEqualTo(40);
        assertThat(addr.getInt(12)).isEqualTo(1);
        assertThat(addr.getLong(20)).isEqualTo(0xa000);
        assertThat(addr.getLong(28)).isEqualTo(0xc000);
        assertThat(addr.getLong(36)).isEqualTo(0xb000);

        VhostMessage kick = new VhostMessage.SetVringKick(3, 42);
        assertThat(le(VhostCodec.encode(kick, false)).getLong(12)).isEqualTo(3);
        assertThat(kick.fds()).containsExactly(42);

        ByteBuffer config = le(VhostCodec.encode(new VhostMessage.GetConfig(0, VirtioBlkConfig.SIZE), false));
        assertThat(config.getInt(8)).isEqualTo(12 + VirtioBlkConfig.SIZE);
        assertThat(config.getInt(16)).isEqualTo(VirtioBlkConfig.SIZE);
    }

    private static byte[] header(int code, int flags, int size) {
        return ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(code).putInt(flags).putInt(size).array();
    }

    @Test
    void repliesAreCheckedAgainstTheirRequest() throws Exception {
        VhostMessage get = new VhostMessage.GetFeatures();
        assertThat(VhostCodec.replyPayloadSize(get, header(1, 0x5, 8))).isEqualTo(8);
        assertThatThrownBy(() -> VhostCodec.replyPayloadSize(get, header(15, 0x5, 8))).hasMessageContaining("out of step");
        assertThatThrownBy(() -> VhostCodec.replyPayloadSize(get, header(1, 0x1, 8))).hasMessageContaining("reply bit");
        assertThatThrownBy(() -> VhostCodec.decodeReply(get, ReplyKind.U64, new byte[4])).hasMessageContaining("expected 8");
        byte[] failedConfig = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN).putInt(0).putInt(0).putInt(0).array();
        assertThatThrownBy(() -> VhostCodec.decodeReply(new VhostMessage.GetConfig(0, 60), ReplyKind.CONFIG, failedConfig))
                .hasMessageContaining("failed GET_CONFIG");
    }

    @Test
    void configParsesEveryField() {
        ByteBuffer c = ByteBuffer.allocate(VirtioBlkConfig.SIZE).order(ByteOrder.LITTLE_ENDIAN);
        c.putLong(0, 1 << 20).putInt(8, 65536).putInt(12, 126).putInt(20, 4096).putShort(34, (short) 4)
                .putInt(36, 32768).putInt(40, 1).putInt(44, 8).putInt(48, 16384).putInt(52, 2).put(56, (byte) 1);
        VirtioBlkConfig cfg = VirtioBlkConfig.parse(c.array());
        assertThat(cfg).isEqualTo(new VirtioBlkConfig(1 << 20, 65536, 126, 4096, 4, 32768, 1, 8, 16384, 2, true));
    }
}
