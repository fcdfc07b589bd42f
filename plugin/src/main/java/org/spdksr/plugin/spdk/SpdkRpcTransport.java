package org.spdksr.plugin.spdk;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One connection to spdk_tgt and the JSON-RPC framing rules of spdk-rpc.md §1: a non-null id on
 * every request (notifications corrupt the stream), no request above the server's 32 KiB buffer,
 * replies read as a stream of JSON values and matched by id. Calls are serialised; a reply whose
 * id is not the one awaited is a late answer to a call that timed out, and is dropped.
 */
final class SpdkRpcTransport implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(SpdkRpcTransport.class);
    /**
     * SPDK_JSONRPC_RECV_BUF_SIZE is 32 KiB and a bigger request gets the connection reset, with no
     * reply (spdk-rpc.md §1). One byte is kept free in case the server needs a terminator.
     */
    static final int MAX_REQUEST_BYTES = 32 * 1024 - 1;

    private final SpdkClientSettings settings;
    private final ObjectMapper mapper;
    private final AtomicLong ids = new AtomicLong();
    private SocketChannel channel;
    private Selector selector;
    private JsonStreamDecoder decoder;

    SpdkRpcTransport(SpdkClientSettings settings, ObjectMapper mapper) {
        this.settings = settings;
        this.mapper = mapper;
    }

    /** Sends {@code method} with {@code params} (null: no params member at all) and returns the result. */
    synchronized JsonNode call(String method, JsonNode params) throws SpdkRpcException {
        long id = ids.incrementAndGet();
        ObjectNode request = mapper.createObjectNode();
        request.put("jsonrpc", "2.0");
        request.put("method", method);
        request.put("id", id);
        if (params != null) {
            request.set("params", params);
        }
        byte[] bytes;
        try {
            bytes = mapper.writeValueAsBytes(request);
        } catch (IOException e) {
            throw failure(SpdkErrorKind.INVALID_ARGUMENT, method, "cannot encode the request: " + e.getMessage(), e);
        }
        if (bytes.length > MAX_REQUEST_BYTES) {
            throw failure(SpdkErrorKind.INVALID_ARGUMENT, method, "the request is " + bytes.length
                    + " bytes, more than the " + MAX_REQUEST_BYTES + " spdk_tgt accepts; it was not sent", null);
        }
        boolean reused = channel != null && channel.isOpen();
        connect(method);
        long deadline = System.nanoTime() + settings.callTimeout().toNanos();
        try {
            try {
                send(bytes, deadline, method);
            } catch (IOException e) {
                if (!reused) {
                    throw e;
                }
                // spdk_tgt went away (restart) since the last call: the request was not delivered, so
                // sending it again on a fresh connection cannot run it twice.
                LOG.debug("SPDK connection to {} was closed since the last call; reconnecting", settings.socket());
                disconnect();
                connect(method);
                send(bytes, deadline, method);
            }
            return awaitReply(id, method, deadline);
        } catch (SpdkRpcException e) {
            if (e.kind() == SpdkErrorKind.NOT_RUNNING) {
                disconnect();
            }
            throw e;
        } catch (IOException e) {
            disconnect();
            throw failure(SpdkErrorKind.NOT_RUNNING, method, "the connection failed: " + e.getMessage(), e);
        }
    }

    private void send(byte[] bytes, long deadline, String method) throws IOException {
        ByteBuffer out = ByteBuffer.wrap(bytes);
        SelectionKey key = channel.keyFor(selector);
        while (out.hasRemaining()) {
            if (channel.write(out) == 0) {
                key.interestOps(SelectionKey.OP_WRITE);
                waitFor(deadline, method);
            }
        }
    }

    private JsonNode awaitReply(long id, String method, long deadline) throws IOException {
        ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        SelectionKey key = channel.keyFor(selector);
        while (true) {
            in.clear();
            int n = channel.read(in);
            if (n < 0) {
                throw failure(SpdkErrorKind.NOT_RUNNING, method, "spdk_tgt closed the connection without answering "
                        + "(it stopped, or it rejected the request as too large or malformed)", null);
            }
            if (n == 0) {
                key.interestOps(SelectionKey.OP_READ);
                waitFor(deadline, method);
                continue;
            }
            for (JsonNode reply : decoder.feed(in.array(), 0, n)) {
                JsonNode replyId = reply.get("id");
                if (replyId == null || !replyId.isIntegralNumber() || replyId.asLong() != id) {
                    LOG.debug("dropping SPDK reply {} while waiting for id {} ({})", replyId, id, method);
                    continue;
                }
                return resultOf(reply, method);
            }
        }
    }

    private JsonNode resultOf(JsonNode reply, String method) throws SpdkRpcException {
        JsonNode error = reply.get("error");
        if (error != null && !error.isNull()) {
            int code = error.path("code").asInt();
            String message = error.path("message").asText("");
            throw new SpdkRpcException(SpdkErrorKind.classify(code, message), method, settings.socket(), code, message,
                    null);
        }
        JsonNode result = reply.get("result");
        if (result == null) {
            throw failure(SpdkErrorKind.OTHER, method, "the reply has neither result nor error: " + reply, null);
        }
        return result;
    }

    private void waitFor(long deadline, String method) throws IOException {
        long left = deadline - System.nanoTime();
        if (left <= 0 || selector.select(Math.max(1, left / 1_000_000)) == 0 && System.nanoTime() >= deadline) {
            throw failure(SpdkErrorKind.TIMEOUT, method, "no reply within " + settings.callTimeout().toMillis()
                    + " ms", null);
        }
        selector.selectedKeys().clear();
    }

    /** Connects, retrying while spdk_tgt is starting (its socket appears only once it listens, §1). */
    private void connect(String method) throws SpdkRpcException {
        if (channel != null && channel.isOpen()) {
            return;
        }
        long deadline = System.nanoTime() + settings.connectTimeout().toNanos();
        int attempts = 0;
        while (true) {
            attempts++;
            SocketChannel candidate = null;
            try {
                candidate = SocketChannel.open(StandardProtocolFamily.UNIX);
                candidate.connect(UnixDomainSocketAddress.of(settings.socket()));
                candidate.configureBlocking(false);
                selector = Selector.open();
                candidate.register(selector, 0);
                decoder = new JsonStreamDecoder(mapper);
                channel = candidate;
                return;
            } catch (IOException e) {
                closeQuietly(candidate);
                if (System.nanoTime() >= deadline) {
                    throw failure(SpdkErrorKind.NOT_RUNNING, method, "spdk_tgt is not running: nothing answers on "
                            + settings.socket() + " (" + attempts + " attempt" + (attempts == 1 ? "" : "s") + " in "
                            + settings.connectTimeout().toMillis() + " ms, last error: " + e.getMessage() + ")", e);
                }
                try {
                    Thread.sleep(settings.retryInterval().toMillis());
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    throw failure(SpdkErrorKind.NOT_RUNNING, method, "interrupted while connecting", interrupted);
                }
            }
        }
    }

    private SpdkRpcException failure(SpdkErrorKind kind, String method, String text, Throwable cause) {
        return new SpdkRpcException(kind, method, settings.socket(), null, text, cause);
    }

    private void disconnect() {
        closeQuietly(channel);
        channel = null;
        if (selector != null) {
            try {
                selector.close();
            } catch (IOException ignored) {
                // nothing to do: the selector only watched this channel
            }
            selector = null;
        }
    }

    private static void closeQuietly(SocketChannel channel) {
        if (channel != null) {
            try {
                channel.close();
            } catch (IOException ignored) {
                // closing a dead connection
            }
        }
    }

    @Override
    public synchronized void close() {
        disconnect();
    }
}
