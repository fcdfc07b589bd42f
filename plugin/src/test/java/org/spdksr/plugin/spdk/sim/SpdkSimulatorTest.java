package org.spdksr.plugin.spdk.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The simulator on the wire, byte for byte, against what spdk-rpc.md §1–§2 records as seen. */
class SpdkSimulatorTest {
    @TempDir
    Path dir;

    private SpdkSimulator sim;
    private SocketChannel raw;

    @BeforeEach
    void start() throws Exception {
        sim = SpdkSimulator.start(dir.resolve("spdk.sock"));
        raw = connect();
    }

    @AfterEach
    void stop() throws Exception {
        raw.close();
        sim.close();
    }

    private SocketChannel connect() throws IOException {
        SocketChannel c = SocketChannel.open(StandardProtocolFamily.UNIX);
        c.connect(UnixDomainSocketAddress.of(dir.resolve("spdk.sock")));
        return c;
    }

    private void send(String text) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
        while (b.hasRemaining()) {
            raw.write(b);
        }
    }

    /** Reads until {@code lines} newline-terminated replies have arrived. */
    private String readLines(int lines) throws IOException {
        StringBuilder text = new StringBuilder();
        ByteBuffer b = ByteBuffer.allocate(65536);
        while (text.chars().filter(ch -> ch == '\n').count() < lines) {
            b.clear();
            int n = raw.read(b);
            if (n < 0) {
                throw new IOException("closed after " + text);
            }
            text.append(new String(b.array(), 0, n, StandardCharsets.UTF_8));
        }
        return text.toString();
    }

    /** -1 when the server closed; throws on a reset. */
    private int readToEnd() throws IOException {
        ByteBuffer b = ByteBuffer.allocate(65536);
        int total = 0;
        while (true) {
            b.clear();
            int n = raw.read(b);
            if (n < 0) {
                return total == 0 ? -1 : total;
            }
            total += n;
        }
    }

    @Test
    void replyIsOneCompactObjectInMemberOrderThenANewline() throws Exception {
        send("{\"jsonrpc\":\"2.0\",\"method\":\"spdk_get_version\",\"id\":\"a\"}");
        assertThat(readLines(1)).isEqualTo("{\"jsonrpc\":\"2.0\",\"id\":\"a\",\"result\":{\"version\":\"SPDK v25.05\","
                + "\"fields\":{\"major\":25,\"minor\":5,\"patch\":0,\"suffix\":\"\"}}}\n");
    }

    @Test
    void splitAndConcatenatedRequestsAreEachAnswered() throws Exception {
        send("  \n{\"jsonrpc\":\"2.0\",\"meth");
        send("od\":\"framework_wait_init\",\"id\":1}{\"method\":\"bdev_wait_for_examine\",\"id\":2}\n"
                + "{\"method\":\"no_such_method\",\"id\":3}");
        assertThat(readLines(3)).isEqualTo("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":true}\n"
                + "{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":true}\n"
                + "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-32601,\"message\":\"Method not found\"}}\n");
    }

    @Test
    void invalidRequestsGetMinus32600WithANullId() throws Exception {
        send("[{\"method\":\"spdk_get_version\",\"id\":1}]");
        send("{\"jsonrpc\":\"1.0\",\"method\":\"spdk_get_version\",\"id\":2}");
        assertThat(readLines(2)).isEqualTo(
                "{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32600,\"message\":\"Invalid request\"}}\n".repeat(2));
    }

    @Test
    void paramsErrorsCarryTheCodesSeenOnSpdkTgt() throws Exception {
        send("{\"method\":\"spdk_get_version\",\"params\":{},\"id\":1}");
        send("{\"method\":\"bdev_lvol_get_lvstores\",\"params\":{},\"id\":2}");
        send("{\"method\":\"bdev_get_bdevs\",\"params\":{\"name\":\"x\"},\"id\":3}");
        send("{\"method\":\"bdev_get_bdevs\",\"params\":{\"nmae\":\"x\"},\"id\":4}");
        send("{\"method\":\"bdev_lvol_get_lvstores\",\"id\":5}");
        assertThat(readLines(5)).isEqualTo(
                "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32602,\"message\":\"spdk_get_version method requires no parameters\"}}\n"
                + "{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-22,\"message\":\"Invalid argument\"}}\n"
                + "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-19,\"message\":\"No such device\"}}\n"
                + "{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":-32603,\"message\":\"spdk_json_decode_object failed\"}}\n"
                + "{\"jsonrpc\":\"2.0\",\"id\":5,\"result\":[]}\n");
    }

    @Test
    void aNotificationGetsATruncatedReplyThatCorruptsTheStream() throws Exception {
        send("{\"method\":\"framework_wait_init\"}");
        send("{\"method\":\"framework_wait_init\",\"id\":1}");
        assertThat(readLines(1)).isEqualTo("{\"jsonrpc\":\"2.0\",\"id\":null,\"result\":true"
                + "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":true}\n");
    }

    @Test
    void malformedJsonClosesTheConnectionWithoutAReply() throws Exception {
        send("{\"method\":\"spdk_get_version\",\"id\":1,]");
        assertThat(readToEnd()).isEqualTo(-1);
    }

    @Test
    void aRequestAbove32KiBResetsTheConnection() throws Exception {
        send("{\"method\":\"bdev_get_bdevs\",\"params\":{\"name\":\"" + "x".repeat(40_000) + "\"},\"id\":1}");
        assertThatThrownBy(this::readToEnd).isInstanceOf(IOException.class).hasMessageContaining("reset");
        assertThat(sim.receivedMethods()).isEmpty();
    }

    @Test
    void aSecondAppOnTheSameSocketFailsToStart() {
        assertThatThrownBy(() -> SpdkSimulator.start(dir.resolve("spdk.sock"))).hasMessageContaining(".lock");
    }

    @Test
    void lvstoresComeBackByExamineWhenTheBaseBdevReturns() throws Exception {
        Path disk = dir.resolve("disk");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(256L << 20);
        }
        send("{\"method\":\"bdev_aio_create\",\"params\":{\"name\":\"a\",\"filename\":\"" + disk + "\"},\"id\":1}");
        send("{\"method\":\"bdev_lvol_create_lvstore\",\"params\":{\"bdev_name\":\"a\",\"lvs_name\":\"s\"},\"id\":2}");
        send("{\"method\":\"bdev_lvol_create\",\"params\":{\"lvol_name\":\"v\",\"size_in_mib\":8,\"lvs_name\":\"s\","
                + "\"thin_provision\":true},\"id\":3}");
        readLines(3);
        sim.write("s/v", 0, 1);
        raw.close();
        sim.close();
        sim = SpdkSimulator.start(dir.resolve("spdk.sock"));
        raw = connect();
        send("{\"method\":\"bdev_lvol_get_lvstores\",\"id\":1}");
        assertThat(readLines(1)).contains("\"result\":[]");
        send("{\"method\":\"bdev_aio_create\",\"params\":{\"name\":\"a2\",\"filename\":\"" + disk + "\"},\"id\":2}");
        send("{\"method\":\"bdev_wait_for_examine\",\"id\":3}");
        send("{\"method\":\"bdev_lvol_get_lvols\",\"id\":4}");
        String replies = readLines(3);
        assertThat(replies).contains("\"alias\":\"s/v\"", "\"num_allocated_clusters\":1", "\"is_thin_provisioned\":true");
        send("{\"method\":\"bdev_get_bdevs\",\"params\":{\"name\":\"a2\"},\"id\":5}");
        assertThat(readLines(1)).contains("\"claimed\":true");
    }
}
