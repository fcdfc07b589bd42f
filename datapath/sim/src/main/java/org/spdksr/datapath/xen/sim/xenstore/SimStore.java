package org.spdksr.datapath.xen.sim.xenstore;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.xen.xenstore.NodePermissions;
import org.spdksr.datapath.xen.xenstore.XenstorePaths;
import org.spdksr.datapath.xen.xenstore.XsMessage;
import org.spdksr.datapath.xen.xenstore.XsMessageType;
import org.spdksr.datapath.xen.xenstore.XsWire;

/**
 * The simulated store: the live tree, transactions, watches and the request dispatcher
 * (blkif.md §4.2). Every request runs under the store's lock, so requests are atomic.
 */
final class SimStore {
    private static final Logger LOG = LoggerFactory.getLogger(SimStore.class);
    private SimTree live = SimTree.initial();
    /** Bumped by every committed change; a transaction started at another generation conflicts. */
    private long generation;
    private int nextTransactionId = 1;
    private final Map<Integer, SimTransaction> transactions = new HashMap<>();
    private final List<SimWatch> watches = new ArrayList<>();
    private final Set<Integer> introduced = new HashSet<>();
    private final List<SimNodeObserver> observers = new CopyOnWriteArrayList<>();

    private static final class SimTransaction {
        final SimConnection owner;
        final SimTree tree;
        final long baseGeneration;
        final List<SimChange> changes = new ArrayList<>();

        SimTransaction(SimConnection owner, SimTree tree, long baseGeneration) {
            this.owner = owner;
            this.tree = tree;
            this.baseGeneration = baseGeneration;
        }
    }

    private record SimWatch(SimConnection conn, String registeredPath, String absPath, String token) {
    }

    synchronized void handle(SimConnection conn, XsMessage m) {
        List<SimChange> changes = new ArrayList<>();
        XsMessage reply;
        try {
            reply = dispatch(conn, m, changes);
            if (reply.length() > XsWire.PAYLOAD_MAX) {
                // A reply over the limit would kill the client's connection (blkif.md §4.1); real servers say E2BIG.
                throw new XsFailure("E2BIG", "reply of " + reply.length() + " bytes");
            }
        } catch (XsFailure f) {
            reply = XsMessage.of(XsMessageType.ERROR, m.reqId(), m.txId(), XsMessage.joinNul(f.errorName()));
            changes.clear();
        }
        // Observers see the change before its writer is answered (SimNodeObserver).
        for (SimChange c : changes) {
            tellObservers(conn.domid(), c);
        }
        // The reply goes out before the events it causes, so a client sees WATCH's OK before the first event.
        conn.send(reply);
        if (m.type() == XsMessageType.WATCH.code() && reply.type() == XsMessageType.WATCH.code()) {
            List<String> args = m.strings();
            conn.send(event(args.get(0), args.get(1)));
        }
        if (!changes.isEmpty()) {
            generation++;
            changes.forEach(this::fire);
        }
    }

    void observe(SimNodeObserver observer) {
        observers.add(observer);
    }

    void forget(SimNodeObserver observer) {
        observers.remove(observer);
    }

    private void tellObservers(int writer, SimChange c) {
        if (observers.isEmpty()) {
            return;
        }
        SimNode n = c.removed() ? null : live.find(c.path());
        Optional<String> value = n == null || n.value == null ? Optional.empty()
                : Optional.of(new String(n.value, StandardCharsets.UTF_8));
        for (SimNodeObserver o : observers) {
            try {
                o.committed(writer, c.path(), value);
            } catch (RuntimeException e) {
                // An observer's failure must not change what the store answers.
                LOG.warn("a node observer failed on {}: {}", c.path(), e.toString());
            }
        }
    }

    synchronized void disconnect(SimConnection conn) {
        watches.removeIf(w -> w.conn() == conn);
        transactions.values().removeIf(t -> t.owner == conn);
    }

    synchronized void introduce(int domid) {
        if (introduced.add(domid)) {
            fireSpecial("@introduceDomain");
        }
    }

    synchronized void release(int domid) {
        if (introduced.remove(domid)) {
            fireSpecial("@releaseDomain");
        }
    }

    private XsMessage dispatch(SimConnection conn, XsMessage m, List<SimChange> changes) throws XsFailure {
        Optional<XsMessageType> type = XsMessageType.fromCode(m.type());
        if (type.isEmpty()) {
            throw new XsFailure("ENOSYS", "message type " + m.type());
        }
        XsMessageType t = type.get();
        int domid = conn.domid();
        List<String> args = m.strings();
        return switch (t) {
            case READ -> reply(m, tree(conn, m).read(domid, path(conn, args, 0, false)));
            case DIRECTORY -> reply(m, XsMessage.joinNul(
                    tree(conn, m).directory(domid, path(conn, args, 0, false)).toArray(String[]::new)));
            case GET_PERMS -> reply(m, XsMessage.joinNul(
                    tree(conn, m).getPerms(domid, path(conn, args, 0, false)).wire().toArray(String[]::new)));
            case WRITE -> {
                String p = path(conn, args, 0, false);
                byte[] payload = m.payload();
                int nul = indexOfNul(payload);
                byte[] value = Arrays.copyOfRange(payload, nul + 1, payload.length);
                tree(conn, m).write(domid, p, value, txChanges(conn, m, changes));
                yield ok(m);
            }
            case MKDIR -> {
                tree(conn, m).mkdir(domid, path(conn, args, 0, false), txChanges(conn, m, changes));
                yield ok(m);
            }
            case RM -> {
                tree(conn, m).rm(domid, path(conn, args, 0, false), txChanges(conn, m, changes));
                yield ok(m);
            }
            case SET_PERMS -> {
                String p = path(conn, args, 0, false);
                if (args.size() < 2) {
                    throw new XsFailure("EINVAL", "set_perms needs at least an owner entry");
                }
                NodePermissions perms;
                try {
                    perms = NodePermissions.parse(args.subList(1, args.size()));
                } catch (IllegalArgumentException e) {
                    throw new XsFailure("EINVAL", e.getMessage());
                }
                tree(conn, m).setPerms(domid, p, perms, txChanges(conn, m, changes));
                yield ok(m);
            }
            case WATCH -> watch(conn, m, args);
            case UNWATCH -> unwatch(conn, m, args);
            case TRANSACTION_START -> startTransaction(conn, m);
            case TRANSACTION_END -> endTransaction(conn, m, args, changes);
            case GET_DOMAIN_PATH -> reply(m, XsMessage.joinNul(XenstorePaths.domainPath(domidArg(args))));
            case IS_DOMAIN_INTRODUCED -> reply(m, XsMessage.joinNul(
                    domidArg(args) == 0 || introduced.contains(domidArg(args)) ? "T" : "F"));
            case RESET_WATCHES -> {
                watches.removeIf(w -> w.conn() == conn);
                yield ok(m);
            }
            case INTRODUCE, RELEASE -> {
                if (domid != 0) {
                    throw new XsFailure("EACCES", t + " is for domain 0 only");
                }
                if (t == XsMessageType.INTRODUCE) {
                    introduce(domidArg(args));
                } else {
                    release(domidArg(args));
                }
                yield ok(m);
            }
            default -> throw new XsFailure("ENOSYS", t + " is not simulated");
        };
    }

    private static int indexOfNul(byte[] b) throws XsFailure {
        for (int i = 0; i < b.length; i++) {
            if (b[i] == 0) {
                return i;
            }
        }
        throw new XsFailure("EINVAL", "payload has no NUL after the path");
    }

    private static int domidArg(List<String> args) throws XsFailure {
        try {
            int d = Integer.parseInt(args.get(0));
            if (d < 0 || d > 0xffff) {
                throw new NumberFormatException();
            }
            return d;
        } catch (RuntimeException e) {
            throw new XsFailure("EINVAL", "expected a domid, got " + args);
        }
    }

    private static String path(SimConnection conn, List<String> args, int index, boolean allowSpecial)
            throws XsFailure {
        if (args.size() <= index) {
            throw new XsFailure("EINVAL", "missing path argument");
        }
        String p = args.get(index);
        String problem = XenstorePaths.problem(p, allowSpecial);
        if (problem != null) {
            throw new XsFailure("EINVAL", problem);
        }
        return XenstorePaths.absolute(p, conn.domid());
    }

    private SimTransaction transaction(SimConnection conn, int txId) throws XsFailure {
        SimTransaction tx = transactions.get(txId);
        if (tx == null || tx.owner != conn) {
            throw new XsFailure("ENOENT", "no transaction " + txId + " on this connection");
        }
        return tx;
    }

    private SimTree tree(SimConnection conn, XsMessage m) throws XsFailure {
        return m.txId() == 0 ? live : transaction(conn, m.txId()).tree;
    }

    /** Changes made inside a transaction are kept with it and fire only at commit (blkif.md §4.2). */
    private List<SimChange> txChanges(SimConnection conn, XsMessage m, List<SimChange> direct) throws XsFailure {
        return m.txId() == 0 ? direct : transaction(conn, m.txId()).changes;
    }

    private XsMessage watch(SimConnection conn, XsMessage m, List<String> args) throws XsFailure {
        if (args.size() < 2) {
            throw new XsFailure("EINVAL", "watch needs a path and a token");
        }
        String registered = args.get(0);
        String abs = path(conn, args, 0, true);
        String token = args.get(1);
        for (SimWatch w : watches) {
            if (w.conn() == conn && w.registeredPath().equals(registered) && w.token().equals(token)) {
                throw new XsFailure("EEXIST", "watch " + registered + " " + token);
            }
        }
        watches.add(new SimWatch(conn, registered, abs, token));
        return ok(m);
    }

    private XsMessage unwatch(SimConnection conn, XsMessage m, List<String> args) throws XsFailure {
        if (args.size() < 2) {
            throw new XsFailure("EINVAL", "unwatch needs a path and a token");
        }
        boolean removed = watches.removeIf(w -> w.conn() == conn && w.registeredPath().equals(args.get(0))
                && w.token().equals(args.get(1)));
        if (!removed) {
            throw new XsFailure("ENOENT", "no watch " + args.get(0) + " " + args.get(1));
        }
        return ok(m);
    }

    private XsMessage startTransaction(SimConnection conn, XsMessage m) throws XsFailure {
        if (m.txId() != 0) {
            throw new XsFailure("EINVAL", "transaction_start inside a transaction");
        }
        int id = nextTransactionId++;
        if (nextTransactionId <= 0) {
            nextTransactionId = 1;
        }
        // blkif.md §4.2: the whole store is snapshotted.
        transactions.put(id, new SimTransaction(conn, live.copy(), generation));
        return reply(m, XsMessage.joinNul(Integer.toString(id)));
    }

    private XsMessage endTransaction(SimConnection conn, XsMessage m, List<String> args, List<SimChange> changes)
            throws XsFailure {
        SimTransaction tx = transaction(conn, m.txId());
        transactions.remove(m.txId());
        String how = args.isEmpty() ? "" : args.get(0);
        if (how.equals("F")) {
            return ok(m);
        }
        if (!how.equals("T")) {
            throw new XsFailure("EINVAL", "transaction_end takes T or F, got '" + how + "'");
        }
        // blkif.md §4.2: any intervening write makes the commit fail with EAGAIN.
        if (tx.baseGeneration != generation) {
            throw new XsFailure("EAGAIN", "transaction " + m.txId() + " conflicted");
        }
        if (!tx.changes.isEmpty()) {
            live = tx.tree;
            changes.addAll(tx.changes);
        }
        return ok(m);
    }

    private void fire(SimChange c) {
        for (SimWatch w : watches) {
            if (XenstorePaths.isSpecial(w.absPath())) {
                continue;
            }
            String eventPath;
            if (XenstorePaths.isAtOrBelow(c.path(), w.absPath())) {
                eventPath = c.path();
            } else if (c.removed() && XenstorePaths.isAtOrBelow(w.absPath(), c.path())) {
                eventPath = w.absPath();
            } else {
                continue;
            }
            if (!live.canRead(w.conn().domid(), eventPath)) {
                continue;
            }
            w.conn().send(event(relativeIfRegisteredSo(w, eventPath), w.token()));
        }
    }

    private void fireSpecial(String special) {
        for (SimWatch w : watches) {
            if (w.absPath().equals(special)) {
                w.conn().send(event(special, w.token()));
            }
        }
    }

    /** A watch set on a relative path reports relative paths. */
    private static String relativeIfRegisteredSo(SimWatch w, String eventPath) {
        if (XenstorePaths.isAbsolute(w.registeredPath())) {
            return eventPath;
        }
        String home = XenstorePaths.domainPath(w.conn().domid()) + "/";
        return eventPath.startsWith(home) ? eventPath.substring(home.length()) : eventPath;
    }

    private static XsMessage event(String path, String token) {
        return XsMessage.of(XsMessageType.WATCH_EVENT, 0, 0, XsMessage.joinNul(path, token));
    }

    private static XsMessage ok(XsMessage m) {
        return reply(m, XsMessage.joinNul("OK"));
    }

    private static XsMessage reply(XsMessage m, byte[] payload) {
        return new XsMessage(m.type(), m.reqId(), m.txId(), payload);
    }
}
