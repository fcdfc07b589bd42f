package org.spdksr.plugin.spdk.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import org.spdksr.plugin.spdk.JsonStreamDecoder;

/**
 * A stand-in for spdk_tgt v25.05 for tests: a JSON-RPC server on a real unix socket with the
 * framing of spdk-rpc.md §1, the errors of §2, the start-up and save_config behaviour of §3–§4,
 * lvstore persistence by examine (§5), the lvol methods of §6 that spdk-sr uses and its vhost_blk
 * methods, served by qemu-storage-daemon ({@link SimVhost}). Lvols keep metadata only until they
 * are exported, then a data file ({@link LvolData}); {@link #write} stands for guest writes so thin
 * allocation can be tested without an export.
 */
public final class SpdkSimulator implements AutoCloseable {
    /** SPDK_JSONRPC_RECV_BUF_SIZE: a request must fit, or the connection is reset (§1). */
    static final int RECV_BUF = 32 * 1024;

    private final Path socket;
    private final ObjectMapper mapper = new ObjectMapper();
    private final SimTarget target;
    private final Map<String, CountDownLatch> held = new ConcurrentHashMap<>();
    private final Set<SocketChannel> connections = ConcurrentHashMap.newKeySet();
    private final List<String> received = new CopyOnWriteArrayList<>();
    private volatile boolean fragmentReplies;
    private ServerSocketChannel server;
    private FileChannel lockChannel;
    private FileLock lock;
    private Thread acceptor;

    private SpdkSimulator(Path socket, Path vhostDir) {
        this.socket = socket;
        this.target = new SimTarget(mapper, vhostDir);
    }

    /** Starts like {@code spdk_tgt -r socket}. */
    public static SpdkSimulator start(Path socket) throws IOException {
        return start(socket, null);
    }

    /**
     * Starts like {@code spdk_tgt -r socket -c config --json-ignore-init-errors}: the saved config
     * is replayed before the socket listens (§3, §4); a bad entry is skipped.
     */
    public static SpdkSimulator start(Path socket, Path config) throws IOException {
        return start(socket, config, socket.toAbsolutePath().getParent());
    }

    /**
     * As {@code spdk_tgt -r socket -c config -S vhostDir}: vhost-user controller sockets are made in
     * {@code vhostDir} (§3; without {@code -S}, spdk_tgt uses its working directory, here the
     * directory of the RPC socket).
     */
    public static SpdkSimulator start(Path socket, Path config, Path vhostDir) throws IOException {
        SpdkSimulator sim = new SpdkSimulator(socket, vhostDir);
        sim.lock();
        if (config != null && Files.exists(config)) {
            sim.replay(config);
        }
        sim.listen();
        return sim;
    }

    /** The app's exclusive flock on PATH.lock: a second app on the same socket fails to start (§1). */
    private void lock() throws IOException {
        lockChannel = FileChannel.open(Path.of(socket + ".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        try {
            lock = lockChannel.tryLock();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            lock = null;
        }
        if (lock == null) {
            lockChannel.close();
            throw new IOException("another SPDK app holds " + socket + ".lock");
        }
    }

    private void replay(Path config) throws IOException {
        JsonNode root = mapper.readTree(config.toFile());
        for (JsonNode subsystem : root.path("subsystems")) {
            for (JsonNode entry : subsystem.path("config")) {
                JsonNode params = entry.get("params");
                try {
                    String method = entry.path("method").asText();
                    if (!method.endsWith("_set_options")) {
                        target.call(method, params);
                    }
                } catch (SimError | UncheckedIOException e) {
                    // --json-ignore-init-errors: keep going past bad entries (§3)
                }
            }
        }
    }

    private void listen() throws IOException {
        Files.deleteIfExists(socket); // the app unlinks any old socket, then binds (§1)
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        acceptor = new Thread(this::acceptLoop, "spdk-sim-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    private void acceptLoop() {
        while (true) {
            SocketChannel channel;
            try {
                channel = server.accept();
            } catch (IOException e) {
                return; // closed
            }
            connections.add(channel);
            Thread t = new Thread(() -> serve(channel), "spdk-sim-conn");
            t.setDaemon(true);
            t.start();
        }
    }

    private void serve(SocketChannel channel) {
        try (channel; JsonStreamDecoder decoder = new JsonStreamDecoder(mapper)) {
            ByteBuffer buffer = ByteBuffer.allocate(RECV_BUF);
            while (true) {
                long room = RECV_BUF - decoder.pendingBytes();
                if (room <= 0) {
                    // The request does not fit: close with the rest unread, which the peer sees as a
                    // reset (§1, seen: 40 KB request -> ECONNRESET, no reply).
                    return;
                }
                buffer.clear();
                buffer.limit((int) room);
                int n = channel.read(buffer);
                if (n < 0) {
                    return;
                }
                List<JsonNode> requests;
                try {
                    requests = decoder.feed(buffer.array(), 0, n);
                } catch (IOException malformed) {
                    return; // malformed JSON: the connection is closed, no error object arrives (§1, seen)
                }
                for (JsonNode request : requests) {
                    handle(channel, request);
                }
            }
        } catch (IOException e) {
            // peer gone
        } finally {
            connections.remove(channel);
        }
    }

    private void handle(SocketChannel channel, JsonNode request) throws IOException {
        if (!request.isObject()) {
            // Batch arrays (and other non-objects) are not supported: -32600 with id null (§1, seen).
            reply(channel, NullNode.instance, null, new SimError(-32600, "Invalid request"), false);
            return;
        }
        JsonNode version = request.get("jsonrpc");
        if (version != null && !"2.0".equals(version.asText(null))) {
            reply(channel, NullNode.instance, null, new SimError(-32600, "Invalid request"), false);
            return;
        }
        JsonNode id = request.get("id");
        boolean notification = id == null || id.isNull();
        JsonNode shownId = notification ? NullNode.instance : id;
        JsonNode method = request.get("method");
        JsonNode params = request.get("params");
        if (method == null || !method.isTextual()
                || params != null && !(params.isObject() || params.isArray() || params.isNull())) {
            reply(channel, shownId, null, new SimError(-32600, "Invalid request"), notification);
            return;
        }
        received.add(method.asText());
        JsonNode result = null;
        SimError error = null;
        try {
            result = target.call(method.asText(), params);
        } catch (SimTarget.TargetExited e) {
            channel.close();
            return;
        } catch (SimError e) {
            error = e;
        } catch (RuntimeException e) {
            error = new SimError(-32603, "Internal error");
        }
        CountDownLatch gate = held.get(method.asText());
        if (gate == null) {
            reply(channel, shownId, result, error, notification);
            return;
        }
        // An async method completes when it completes, while later requests go on (§1).
        JsonNode r = result;
        SimError err = error;
        Thread later = new Thread(() -> {
            try {
                gate.await();
                reply(channel, shownId, r, err, notification);
            } catch (IOException | InterruptedException ignored) {
                // connection gone or test over
            }
        }, "spdk-sim-held-reply");
        later.setDaemon(true);
        later.start();
    }

    /**
     * One compact object, members in the order jsonrpc, id, result|error, then "\n" (§1, seen).
     * A notification still gets a reply in v25.05, truncated: no closing brace, no newline (§1, seen).
     */
    private void reply(SocketChannel channel, JsonNode id, JsonNode result, SimError error, boolean notification)
            throws IOException {
        ObjectNode response = mapper.createObjectNode();
        response.put("jsonrpc", "2.0");
        response.set("id", id);
        if (error != null) {
            response.putObject("error").put("code", error.code).put("message", error.getMessage());
        } else {
            response.set("result", result);
        }
        String text = mapper.writeValueAsString(response);
        text = notification ? text.substring(0, text.length() - 1) : text + "\n";
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        synchronized (channel) {
            if (fragmentReplies) {
                for (int i = 0; i < bytes.length; i += 7) {
                    writeFully(channel, ByteBuffer.wrap(bytes, i, Math.min(7, bytes.length - i)));
                    Thread.yield();
                }
            } else {
                writeFully(channel, ByteBuffer.wrap(bytes));
            }
        }
    }

    private static void writeFully(SocketChannel channel, ByteBuffer buffer) throws IOException {
        try {
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
        } catch (ClosedChannelException e) {
            // the client went away
        }
    }

    // --- test hooks ---------------------------------------------------------------------------

    public Path socket() {
        return socket;
    }

    /** Makes an NVMe drive appear at a PCI address, backed by a file (there is no PCIe here). */
    public void addPciDevice(String address, Path backing) {
        target.addPciDevice(address, backing);
    }

    /** Lets another module (raid, passthru, ...) claim a bdev. */
    public void claimByOtherModule(String bdev) {
        target.claimByOtherModule(bdev);
    }

    /** A guest write through the lvol: allocates clusters of a thin lvol. */
    public void write(String lvol, long offset, long length) throws IOException {
        target.write(lvol, offset, length);
    }

    /** Holds the replies of {@code method} until the returned latch is counted down. */
    public CountDownLatch holdReplies(String method) {
        return held.computeIfAbsent(method, m -> new CountDownLatch(1));
    }

    /** Writes each reply in small pieces, to exercise a client's stream decoding. */
    public void fragmentReplies(boolean on) {
        fragmentReplies = on;
    }

    /** Methods received, in order. */
    public List<String> receivedMethods() {
        return List.copyOf(received);
    }

    /** A clean exit: the socket and its lock file are removed (§1, seen). */
    @Override
    public void close() throws IOException {
        shutdown();
        Files.deleteIfExists(socket);
        Files.deleteIfExists(Path.of(socket + ".lock"));
    }

    /** A crash: connections drop, the stale socket file stays behind (connects are refused). */
    public void crash() throws IOException {
        shutdown();
    }

    private void shutdown() throws IOException {
        held.values().forEach(CountDownLatch::countDown);
        // The RPC socket goes first: a controller created by a request that arrived while the
        // controllers were being torn down would outlive the "process" (seen: blkifd's restore
        // RPC during close made one whose qemu-storage-daemon then served a dead target's lvol).
        if (server != null) {
            server.close();
        }
        for (SocketChannel c : connections) {
            c.close();
        }
        target.shutdown();
        if (acceptor != null) {
            try {
                acceptor.join(5000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        if (lock != null) {
            lock.release();
            lockChannel.close();
            lock = null;
        }
    }
}
