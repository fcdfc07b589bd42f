package org.spdksr.datapath.xen.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.xen.sim.xenstore.SimXenstoreServer;

/** Server behaviour the client never provokes, checked with raw frames on the socket (blkif.md §4). */
@Timeout(30)
class SimXenstoreWireTest {
    @TempDir
    Path dir;
    private SimXenstoreServer server;
    private SocketChannel ch;

    @BeforeEach
    void setUp() throws IOException {
        server = SimXenstoreServer.start(dir);
        ch = SocketChannel.open(StandardProtocolFamily.UNIX);
        ch.connect(UnixDomainSocketAddress.of(server.socket()));
    }

    @AfterEach
    void tearDown() throws IOException {
        ch.close();
        server.close();
    }

    private XsMessage roundTrip(XsMessage m) throws IOException {
        XsWire.write(ch, m);
        return XsWire.read(ch);
    }

    @Test
    void unknownTypeIsAnsweredWithEnosysEchoingReqId() throws IOException {
        XsMessage reply = roundTrip(new XsMessage(200, 4242, 0, XsMessage.joinNul("x")));
        assertThat(reply.type()).isEqualTo(XsMessageType.ERROR.code());
        assertThat(reply.reqId()).isEqualTo(4242);
        assertThat(reply.strings()).containsExactly("ENOSYS");
    }

    @Test
    void watchReplyComesBeforeTheFirstEvent() throws IOException {
        XsMessage reply = roundTrip(XsMessage.of(XsMessageType.WATCH, 9, 0, XsMessage.joinNul("/local", "tok")));
        assertThat(reply.type()).isEqualTo(XsMessageType.WATCH.code());
        assertThat(reply.strings()).containsExactly("OK");
        XsMessage event = XsWire.read(ch);
        assertThat(event.type()).isEqualTo(XsMessageType.WATCH_EVENT.code());
        assertThat(event.reqId()).isZero();
        assertThat(event.txId()).isZero();
        assertThat(event.strings()).containsExactly("/local", "tok");
    }

    @Test
    void requestInUnknownTransactionIsEnoent() throws IOException {
        XsMessage reply = roundTrip(XsMessage.of(XsMessageType.READ, 1, 777, XsMessage.joinNul("/local")));
        assertThat(reply.strings()).containsExactly("ENOENT");
    }

    @Test
    void readReplyHasNoTrailingNul() throws IOException {
        byte[] write = "/v\0abc".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
        assertThat(roundTrip(XsMessage.of(XsMessageType.WRITE, 1, 0, write)).strings()).containsExactly("OK");
        assertThat(roundTrip(XsMessage.of(XsMessageType.READ, 2, 0, XsMessage.joinNul("/v"))).payload())
                .containsExactly('a', 'b', 'c');
    }

    @Test
    void oversizedPayloadKillsTheConnection() throws IOException {
        ByteBuffer header = ByteBuffer.allocate(XsWire.HEADER_SIZE).order(ByteOrder.LITTLE_ENDIAN);
        header.putInt(XsMessageType.WRITE.code()).putInt(1).putInt(0).putInt(XsWire.PAYLOAD_MAX + 1).flip();
        ch.write(header);
        // blkif.md §4.1: the server drops the connection instead of answering.
        assertThat(XsWire.read(ch)).isNull();
    }
}
