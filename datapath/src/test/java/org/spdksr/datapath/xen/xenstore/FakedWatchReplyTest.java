package org.spdksr.datapath.xen.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Through /dev/xen/xenbus the kernel answers WATCH itself with req_id 0 (blkif.md §4.2). This test
 * plays that kernel on a socket and checks that the client still pairs the reply with its request.
 */
@Timeout(30)
class FakedWatchReplyTest {
    @TempDir
    Path dir;

    /** The socket transport, but declaring xenbus's faked replies. */
    private static final class XenbusLikeTransport implements XsTransport {
        private final UnixSocketTransport inner;

        XenbusLikeTransport(UnixSocketTransport inner) {
            this.inner = inner;
        }

        @Override
        public XsMessage read() throws IOException {
            return inner.read();
        }

        @Override
        public void write(XsMessage m) throws IOException {
            inner.write(m);
        }

        @Override
        public int payloadMax() {
            return XsWire.PAYLOAD_MAX - XsWire.HEADER_SIZE;
        }

        @Override
        public boolean fakesWatchReplies() {
            return true;
        }

        @Override
        public String describe() {
            return "xenbus-like " + inner.describe();
        }

        @Override
        public void close() throws IOException {
            inner.close();
        }
    }

    @Test
    void watchReplyWithReqIdZeroCompletesTheWatchRequest() throws Exception {
        Path sock = dir.resolve("kernel");
        try (ServerSocketChannel server = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            server.bind(UnixDomainSocketAddress.of(sock));
            Thread kernel = new Thread(() -> {
                try (SocketChannel c = server.accept()) {
                    XsMessage watch = XsWire.read(c);
                    XsWire.write(c, XsMessage.of(XsMessageType.WATCH, 0, 0, XsMessage.joinNul("OK")));
                    XsWire.write(c, XsMessage.of(XsMessageType.WATCH_EVENT, 0, 0,
                            XsMessage.joinNul("/backend", watch.strings().get(1))));
                    XsMessage read = XsWire.read(c);
                    XsWire.write(c, new XsMessage(read.type(), read.reqId(), 0, "v".getBytes()));
                    XsWire.read(c);
                } catch (IOException e) {
                    // The client closed; nothing more to play.
                }
            });
            kernel.setDaemon(true);
            kernel.start();
            try (XenstoreClient xs = XenstoreClient.connect(new XenbusLikeTransport(UnixSocketTransport.connect(sock)))) {
                XenstoreWatch w = xs.watch("/backend");
                assertThat(w.next(Duration.ofSeconds(20))).map(WatchEvent::path).contains("/backend");
                assertThat(xs.readString("/x")).isEqualTo("v");
            }
        }
    }
}
