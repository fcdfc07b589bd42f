package org.spdksr.datapath.xen.xenstore;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Xenstore client over any {@link XsTransport}. One reader thread takes every incoming message and
 * routes it: WATCH_EVENT to the watch named by its token, everything else to the request with the
 * same req_id (blkif.md §4.2, "Replies may arrive out of order ... demultiplex on type == 15").
 */
public final class XenstoreClient implements Xenstore {
    private static final Logger LOG = LoggerFactory.getLogger(XenstoreClient.class);
    /** A transaction that conflicts this many times in a row is reported rather than retried forever. */
    private static final int MAX_TRANSACTION_ATTEMPTS = 1000;

    private final XsTransport transport;
    private final AtomicInteger nextReqId = new AtomicInteger(1);
    private final AtomicLong nextToken = new AtomicLong(1);
    /** Sorted so that a faked WATCH reply (req_id 0 through xenbus) can go to the oldest WATCH request. */
    private final ConcurrentSkipListMap<Integer, Pending> pending = new ConcurrentSkipListMap<>();
    private final Map<String, ClientWatch> watches = new ConcurrentHashMap<>();
    private final Thread reader;
    /** Held around each request when the transport allows only one outstanding request. */
    private final java.util.concurrent.locks.ReentrantLock serial = new java.util.concurrent.locks.ReentrantLock();
    private volatile IOException failure;

    private record Pending(XsMessageType type, CompletableFuture<XsMessage> reply) {
    }

    private XenstoreClient(XsTransport transport) {
        this.transport = transport;
        this.reader = new Thread(this::readLoop, "xenstore-reader " + transport.describe());
        this.reader.setDaemon(true);
    }

    public static XenstoreClient connect(XsTransport transport) {
        XenstoreClient c = new XenstoreClient(transport);
        c.reader.start();
        return c;
    }

    public static XenstoreClient connectSocket(Path socket) throws IOException {
        return connect(UnixSocketTransport.connect(socket));
    }

    /**
     * The socket named by XENSTORED_PATH (or the default socket) when it exists, else
     * /dev/xen/xenbus: the order libxenstore uses (blkif.md §4, "Transports").
     */
    public static XenstoreClient connectHost() throws IOException {
        Path socket = UnixSocketTransport.defaultPath();
        // xenstored creates /var/run/xenstored/socket; a dom0 without the /var/run -> /run link
        // would otherwise silently take the slower device path.
        Path legacy = Path.of("/var/run/xenstored/socket");
        if (!Files.exists(socket) && System.getenv("XENSTORED_PATH") == null && Files.exists(legacy)) {
            socket = legacy;
        }
        if (Files.exists(socket) || !Files.exists(XenbusDeviceTransport.DEFAULT_DEVICE)) {
            return connectSocket(socket);
        }
        LOG.warn("no xenstored socket at {}; using {} (one request at a time)", socket,
                XenbusDeviceTransport.DEFAULT_DEVICE);
        return connect(XenbusDeviceTransport.open(XenbusDeviceTransport.DEFAULT_DEVICE));
    }

    // ---- node operations -------------------------------------------------------------------

    @Override
    public byte[] read(String path) throws IOException {
        return read(0, path);
    }

    @Override
    public void write(String path, byte[] value) throws IOException {
        write(0, path, value);
    }

    @Override
    public List<String> directory(String path) throws IOException {
        return directory(0, path);
    }

    @Override
    public void mkdir(String path) throws IOException {
        simple(0, XsMessageType.MKDIR, "mkdir", path);
    }

    @Override
    public void rm(String path) throws IOException {
        simple(0, XsMessageType.RM, "rm", path);
    }

    @Override
    public NodePermissions getPerms(String path) throws IOException {
        return getPerms(0, path);
    }

    @Override
    public void setPerms(String path, NodePermissions perms) throws IOException {
        setPerms(0, path, perms);
    }

    private byte[] read(int tx, String path) throws IOException {
        checkPath("read", path, false);
        return request(XsMessageType.READ, tx, XsMessage.joinNul(path), "read", path).payload();
    }

    private void write(int tx, String path, byte[] value) throws IOException {
        checkPath("write", path, false);
        byte[] p = path.getBytes(StandardCharsets.UTF_8);
        byte[] payload = new byte[p.length + 1 + value.length];
        System.arraycopy(p, 0, payload, 0, p.length);
        // blkif.md §4.2: the value follows the path's NUL and has no NUL of its own.
        System.arraycopy(value, 0, payload, p.length + 1, value.length);
        request(XsMessageType.WRITE, tx, payload, "write", path);
    }

    private List<String> directory(int tx, String path) throws IOException {
        checkPath("directory", path, false);
        return request(XsMessageType.DIRECTORY, tx, XsMessage.joinNul(path), "directory", path).strings();
    }

    private void simple(int tx, XsMessageType type, String op, String path) throws IOException {
        checkPath(op, path, false);
        request(type, tx, XsMessage.joinNul(path), op, path);
    }

    private NodePermissions getPerms(int tx, String path) throws IOException {
        checkPath("get_perms", path, false);
        List<String> wire = request(XsMessageType.GET_PERMS, tx, XsMessage.joinNul(path), "get_perms", path)
                .strings();
        try {
            return NodePermissions.parse(wire);
        } catch (IllegalArgumentException e) {
            throw new IOException("xenstore get_perms " + path + " returned an unparsable list " + wire, e);
        }
    }

    private void setPerms(int tx, String path, NodePermissions perms) throws IOException {
        checkPath("set_perms", path, false);
        String[] parts = new String[perms.entries().size() + 1];
        parts[0] = path;
        for (int i = 0; i < perms.entries().size(); i++) {
            parts[i + 1] = perms.entries().get(i).wire();
        }
        request(XsMessageType.SET_PERMS, tx, XsMessage.joinNul(parts), "set_perms", path);
    }

    @Override
    public String getDomainPath(int domid) throws IOException {
        XsMessage reply = request(XsMessageType.GET_DOMAIN_PATH, 0, XsMessage.joinNul(Integer.toString(domid)),
                "get_domain_path", "domain " + domid);
        List<String> s = reply.strings();
        if (s.isEmpty()) {
            throw new IOException("xenstore get_domain_path " + domid + " returned an empty reply");
        }
        return s.get(0);
    }

    // ---- watches ---------------------------------------------------------------------------

    @Override
    public XenstoreWatch watch(String path) throws IOException {
        checkPath("watch", path, true);
        String token = "spdksr-" + nextToken.getAndIncrement();
        ClientWatch w = new ClientWatch(path, token);
        // Registered before sending: the first event may overtake the reply.
        watches.put(token, w);
        try {
            request(XsMessageType.WATCH, 0, XsMessage.joinNul(path, token), "watch", path);
        } catch (IOException e) {
            watches.remove(token);
            throw e;
        }
        return w;
    }

    private final class ClientWatch implements XenstoreWatch {
        private final String path;
        private final String token;
        private final BlockingQueue<Optional<WatchEvent>> events = new LinkedBlockingQueue<>();
        private volatile boolean closed;

        ClientWatch(String path, String token) {
            this.path = path;
            this.token = token;
        }

        @Override
        public String path() {
            return path;
        }

        @Override
        public String token() {
            return token;
        }

        void deliver(WatchEvent e) {
            events.add(Optional.of(e));
        }

        /** An empty element wakes a waiting reader when the connection fails. */
        void connectionLost() {
            events.add(Optional.empty());
        }

        @Override
        public Optional<WatchEvent> next(Duration timeout) throws IOException, InterruptedException {
            if (closed) {
                throw new IOException("watch " + token + " on " + path + " is closed");
            }
            Optional<WatchEvent> e = events.poll(timeout.toNanos(), TimeUnit.NANOSECONDS);
            if (e == null) {
                return Optional.empty();
            }
            if (e.isEmpty()) {
                events.add(e);
                throw new IOException("watch on " + path + ": xenstore connection lost ("
                        + failure.getMessage() + "); reconnect and register the watch again", failure);
            }
            return e;
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            watches.remove(token);
            if (failure == null) {
                request(XsMessageType.UNWATCH, 0, XsMessage.joinNul(path, token), "unwatch", path);
            }
        }
    }

    // ---- transactions ----------------------------------------------------------------------

    @Override
    public <T> T transaction(TransactionBody<T> body) throws IOException {
        for (int attempt = 1; ; attempt++) {
            int tx = startTransaction();
            T result;
            try {
                result = body.run(new TxOps(tx));
            } catch (XenstoreException e) {
                endQuietly(tx);
                if (e.error() == XsError.EAGAIN && attempt < MAX_TRANSACTION_ATTEMPTS) {
                    continue;
                }
                throw e;
            } catch (IOException | RuntimeException | Error e) {
                endQuietly(tx);
                throw e;
            }
            try {
                request(XsMessageType.TRANSACTION_END, tx, XsMessage.joinNul("T"), "transaction_end", "tx " + tx);
                return result;
            } catch (XenstoreException e) {
                // blkif.md §4.2: EAGAIN at commit means another write intervened; redo the whole transaction.
                if (e.error() != XsError.EAGAIN) {
                    throw e;
                }
                if (attempt >= MAX_TRANSACTION_ATTEMPTS) {
                    throw new XenstoreException("EAGAIN", "transaction_end", "tx " + tx,
                            "conflicted " + attempt + " times in a row; something rewrites these nodes constantly");
                }
                LOG.debug("xenstore transaction {} conflicted (attempt {}), retrying", tx, attempt);
            }
        }
    }

    private int startTransaction() throws IOException {
        XsMessage reply = request(XsMessageType.TRANSACTION_START, 0, new byte[] {0}, "transaction_start", "");
        List<String> s = reply.strings();
        try {
            return Integer.parseUnsignedInt(s.get(0));
        } catch (RuntimeException e) {
            throw new IOException("xenstore transaction_start returned " + s + ", not a decimal id", e);
        }
    }

    private void endQuietly(int tx) {
        try {
            request(XsMessageType.TRANSACTION_END, tx, XsMessage.joinNul("F"), "transaction_end", "tx " + tx);
        } catch (IOException e) {
            LOG.debug("aborting xenstore transaction {} failed: {}", tx, e.getMessage());
        }
    }

    private final class TxOps implements XenstoreOps {
        private final int tx;

        TxOps(int tx) {
            this.tx = tx;
        }

        @Override
        public byte[] read(String path) throws IOException {
            return XenstoreClient.this.read(tx, path);
        }

        @Override
        public void write(String path, byte[] value) throws IOException {
            XenstoreClient.this.write(tx, path, value);
        }

        @Override
        public List<String> directory(String path) throws IOException {
            return XenstoreClient.this.directory(tx, path);
        }

        @Override
        public void mkdir(String path) throws IOException {
            simple(tx, XsMessageType.MKDIR, "mkdir", path);
        }

        @Override
        public void rm(String path) throws IOException {
            simple(tx, XsMessageType.RM, "rm", path);
        }

        @Override
        public NodePermissions getPerms(String path) throws IOException {
            return XenstoreClient.this.getPerms(tx, path);
        }

        @Override
        public void setPerms(String path, NodePermissions perms) throws IOException {
            XenstoreClient.this.setPerms(tx, path, perms);
        }
    }

    // ---- request/reply plumbing ------------------------------------------------------------

    private void checkPath(String op, String path, boolean allowSpecial) throws XenstoreException {
        String problem = XenstorePaths.problem(path, allowSpecial);
        if (problem != null) {
            throw new XenstoreException("EINVAL", op, path, problem + "; request not sent");
        }
    }

    private XsMessage request(XsMessageType type, int tx, byte[] payload, String op, String path)
            throws IOException {
        if (!transport.oneRequestAtATime()) {
            return send(type, tx, payload, op, path);
        }
        serial.lock();
        try {
            return send(type, tx, payload, op, path);
        } finally {
            serial.unlock();
        }
    }

    private XsMessage send(XsMessageType type, int tx, byte[] payload, String op, String path) throws IOException {
        if (payload.length > transport.payloadMax()) {
            // blkif.md §4.1: the server kills a connection that exceeds the limit, so never send it.
            throw new XenstoreException("E2BIG", op, path, "request payload of " + payload.length
                    + " bytes is over the " + transport.payloadMax() + "-byte limit of " + transport.describe()
                    + "; request not sent");
        }
        IOException f = failure;
        if (f != null) {
            throw new IOException("xenstore " + op + " " + path + ": connection to " + transport.describe()
                    + " is closed (" + f.getMessage() + ")", f);
        }
        int id = nextRequestId();
        CompletableFuture<XsMessage> future = new CompletableFuture<>();
        pending.put(id, new Pending(type, future));
        if (failure != null && pending.remove(id) != null) {
            // The reader failed between the check above and put(): nobody would complete this request.
            throw new IOException("xenstore " + op + " " + path + ": connection to " + transport.describe()
                    + " is closed (" + failure.getMessage() + ")", failure);
        }
        try {
            transport.write(XsMessage.of(type, id, tx, payload));
        } catch (IOException e) {
            pending.remove(id);
            throw new IOException("xenstore " + op + " " + path + ": sending to " + transport.describe()
                    + " failed: " + e.getMessage(), e);
        }
        XsMessage reply = await(future, op, path);
        if (reply.type() == XsMessageType.ERROR.code()) {
            List<String> s = reply.strings();
            throw new XenstoreException(s.isEmpty() ? "EIO" : s.get(0), op, path, null);
        }
        if (reply.type() != type.code()) {
            throw new IOException("xenstore " + op + " " + path + ": reply has type " + reply.type()
                    + " instead of " + type.code() + "; protocol error from " + transport.describe());
        }
        return reply;
    }

    private int nextRequestId() {
        int id;
        do {
            id = nextReqId.getAndIncrement();
        } while (id == 0); // 0 is what a faked xenbus WATCH reply carries (blkif.md §4.2)
        return id;
    }

    private XsMessage await(CompletableFuture<XsMessage> future, String op, String path) throws IOException {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting for xenstore " + op + " " + path);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw new IOException("xenstore " + op + " " + path + ": " + c.getMessage(), c);
        }
    }

    private void readLoop() {
        try {
            while (true) {
                XsMessage m = transport.read();
                if (m == null) {
                    throw new IOException(transport.describe() + " closed the connection");
                }
                if (m.type() == XsMessageType.WATCH_EVENT.code()) {
                    dispatchEvent(m);
                } else {
                    dispatchReply(m);
                }
            }
        } catch (IOException e) {
            fail(e);
        } catch (RuntimeException e) {
            fail(new IOException("xenstore reader failed: " + e, e));
        }
    }

    private void dispatchEvent(XsMessage m) {
        List<String> s = m.strings();
        if (s.size() < 2) {
            LOG.warn("ignoring malformed watch event {} from {}", s, transport.describe());
            return;
        }
        ClientWatch w = watches.get(s.get(1));
        if (w != null) {
            w.deliver(new WatchEvent(s.get(0), s.get(1)));
        }
    }

    private void dispatchReply(XsMessage m) {
        Pending p = pending.remove(m.reqId());
        if (p == null && transport.fakesWatchReplies()) {
            p = removeOldestOfType(m.type());
        }
        if (p == null) {
            LOG.warn("ignoring xenstore reply type {} with unknown req_id {} from {}", m.type(), m.reqId(),
                    transport.describe());
            return;
        }
        p.reply().complete(m);
    }

    private Pending removeOldestOfType(int type) {
        for (Map.Entry<Integer, Pending> e : pending.entrySet()) {
            int t = e.getValue().type().code();
            if (t == type && (t == XsMessageType.WATCH.code() || t == XsMessageType.UNWATCH.code())) {
                return pending.remove(e.getKey());
            }
        }
        return null;
    }

    private void fail(IOException e) {
        if (failure == null) {
            failure = e;
        }
        for (Integer id : pending.keySet()) {
            Pending p = pending.remove(id);
            if (p != null) {
                p.reply().completeExceptionally(e);
            }
        }
        watches.values().forEach(ClientWatch::connectionLost);
    }

    @Override
    public void close() throws IOException {
        if (failure == null) {
            failure = new IOException("client closed");
        }
        transport.close();
        fail(failure);
    }
}
