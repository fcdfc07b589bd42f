package org.spdksr.datapath.xen.xenstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * What blkif.md §4 says a xenstore server does, checked through {@link XenstoreClient}. Subclasses
 * supply the server: the simulated one always, a real xenstored when one is reachable. Both the
 * client and the simulation must pass the same suite, so neither can drift from the protocol.
 */
@Timeout(60)
public abstract class XenstoreConformanceTest {
    private static final Duration WAIT = Duration.ofSeconds(20);
    /** How long to wait when checking that an event does NOT come; never the deciding factor of a pass. */
    private static final Duration QUIET = Duration.ofMillis(300);
    /** An unprivileged guest domain id used by tests that need one. */
    protected static final int GUEST = 7;

    protected Xenstore xs;
    protected String root;
    private final List<Xenstore> extra = new ArrayList<>();

    /** A connection with domain-0 privileges. */
    protected abstract Xenstore connectPrivileged() throws IOException;

    /**
     * A connection acting for unprivileged {@code domid}, or empty when the server under test cannot
     * provide one (a real xenstored gives that only to the guest itself); those tests are skipped.
     */
    protected abstract Optional<Xenstore> connectAs(int domid) throws IOException;

    @BeforeEach
    void setUp() throws IOException {
        xs = connectPrivileged();
        root = "/spdksr-conformance-" + UUID.randomUUID().toString().substring(0, 8);
        xs.mkdir(root);
    }

    @AfterEach
    void tearDown() throws IOException {
        try {
            xs.rm(root);
            if (xs.readIfExists(XenstorePaths.domainPath(GUEST)).isPresent()) {
                xs.rm(XenstorePaths.domainPath(GUEST) + "/spdksr-conformance");
            }
        } finally {
            for (Xenstore x : extra) {
                x.close();
            }
            xs.close();
        }
    }

    protected Xenstore another() throws IOException {
        Xenstore x = connectPrivileged();
        extra.add(x);
        return x;
    }

    protected Xenstore guest(int domid) throws IOException {
        Optional<Xenstore> g = connectAs(domid);
        assumeThat(g).as("server under test provides unprivileged connections").isPresent();
        extra.add(g.get());
        return g.get();
    }

    private static XsError errorOf(ThrowingRunnable r) {
        try {
            r.run();
        } catch (XenstoreException e) {
            return e.error();
        } catch (IOException e) {
            throw new AssertionError("expected a XenstoreException, got " + e, e);
        }
        throw new AssertionError("expected a XenstoreException, the call succeeded");
    }

    @FunctionalInterface
    interface ThrowingRunnable {
        void run() throws IOException;
    }

    // ---- nodes -------------------------------------------------------------------------------

    @Test
    void writeThenReadReturnsTheValue() throws IOException {
        xs.write(root + "/a", "hello");
        assertThat(xs.readString(root + "/a")).isEqualTo("hello");
    }

    @Test
    void valuesAreRawBytesWithoutTrailingNul() throws IOException {
        byte[] value = new byte[255];
        for (int i = 0; i < value.length; i++) {
            value[i] = (byte) (i + 1);
        }
        xs.write(root + "/bin", value);
        assertThat(xs.read(root + "/bin")).isEqualTo(value);
        xs.write(root + "/empty", new byte[0]);
        assertThat(xs.read(root + "/empty")).isEmpty();
    }

    @Test
    void readOfMissingNodeIsEnoentNamingOperationAndPath() {
        assertThatThrownBy(() -> xs.read(root + "/missing"))
                .isInstanceOfSatisfying(XenstoreException.class, e -> {
                    assertThat(e.error()).isEqualTo(XsError.ENOENT);
                    assertThat(e.operation()).isEqualTo("read");
                    assertThat(e.path()).isEqualTo(root + "/missing");
                })
                .hasMessageContaining("read " + root + "/missing").hasMessageContaining("ENOENT");
    }

    @Test
    void readIfExistsIsEmptyForMissingNode() throws IOException {
        assertThat(xs.readIfExists(root + "/missing")).isEmpty();
    }

    @Test
    void writeCreatesMissingParentsWithEmptyValues() throws IOException {
        xs.write(root + "/x/y/z", "v");
        assertThat(xs.read(root + "/x")).isEmpty();
        assertThat(xs.read(root + "/x/y")).isEmpty();
        assertThat(xs.directory(root + "/x")).containsExactly("y");
    }

    @Test
    void directoryListsChildrenAndIsEmptyForLeaf() throws IOException {
        xs.write(root + "/d/one", "1");
        xs.write(root + "/d/two", "2");
        xs.mkdir(root + "/d/three");
        assertThat(xs.directory(root + "/d")).containsExactlyInAnyOrder("one", "two", "three");
        assertThat(xs.directory(root + "/d/one")).isEmpty();
        assertThat(errorOf(() -> xs.directory(root + "/nope"))).isEqualTo(XsError.ENOENT);
    }

    @Test
    void mkdirCreatesEmptyNodeAndIsIdempotent() throws IOException {
        xs.mkdir(root + "/m");
        xs.mkdir(root + "/m");
        assertThat(xs.read(root + "/m")).isEmpty();
        xs.write(root + "/m", "kept");
        xs.mkdir(root + "/m");
        assertThat(xs.readString(root + "/m")).isEqualTo("kept");
    }

    @Test
    void rmIsRecursiveAndToleratesMissingNodeButNotMissingParent() throws IOException {
        xs.write(root + "/r/a/b", "1");
        xs.write(root + "/r/c", "2");
        xs.rm(root + "/r");
        assertThat(xs.readIfExists(root + "/r/a/b")).isEmpty();
        assertThat(xs.readIfExists(root + "/r")).isEmpty();
        xs.rm(root + "/r");
        assertThat(errorOf(() -> xs.rm(root + "/nope/child"))).isEqualTo(XsError.ENOENT);
    }

    @Test
    void getDomainPathIsLocalDomainId() throws IOException {
        assertThat(xs.getDomainPath(5)).isEqualTo("/local/domain/5");
        assertThat(xs.getDomainPath(0)).isEqualTo("/local/domain/0");
    }

    // ---- limits, checked before sending ------------------------------------------------------

    @Test
    void oversizedWriteIsRefusedBeforeSendingAndConnectionSurvives() throws IOException {
        byte[] big = new byte[XsWire.PAYLOAD_MAX];
        assertThatThrownBy(() -> xs.write(root + "/big", big))
                .isInstanceOfSatisfying(XenstoreException.class,
                        e -> assertThat(e.error()).isEqualTo(XsError.E2BIG))
                .hasMessageContaining("not sent");
        xs.write(root + "/after", "still-alive");
        assertThat(xs.readString(root + "/after")).isEqualTo("still-alive");
        // The largest write that fits is accepted.
        byte[] path = (root + "/fits").getBytes(StandardCharsets.US_ASCII);
        xs.write(root + "/fits", new byte[XsWire.PAYLOAD_MAX - path.length - 1]);
        assertThat(xs.read(root + "/fits")).hasSize(XsWire.PAYLOAD_MAX - path.length - 1);
    }

    @Test
    void invalidPathsAreRefusedBeforeSending() {
        assertThat(errorOf(() -> xs.write(root + "//double", "x"))).isEqualTo(XsError.EINVAL);
        assertThat(errorOf(() -> xs.write(root + "/trailing/", "x"))).isEqualTo(XsError.EINVAL);
        assertThat(errorOf(() -> xs.write(root + "/sp ace", "x"))).isEqualTo(XsError.EINVAL);
        assertThat(errorOf(() -> xs.read("/" + "a".repeat(XsWire.ABS_PATH_MAX)))).isEqualTo(XsError.EINVAL);
    }

    @Test
    void directoryReplyOverThePayloadLimitIsE2bigAndConnectionSurvives() throws IOException {
        xs.transaction(tx -> {
            for (int i = 0; i < 250; i++) {
                tx.write(root + "/wide/child-with-a-long-name-" + i, "");
            }
            return null;
        });
        assertThat(errorOf(() -> xs.directory(root + "/wide"))).isEqualTo(XsError.E2BIG);
        assertThat(xs.read(root + "/wide")).isEmpty();
    }

    // ---- permissions -------------------------------------------------------------------------

    @Test
    void setPermsRoundTripsAndChildrenInheritParentPermissions() throws IOException {
        NodePermissions perms = NodePermissions.of(new XsPermission(0, XsAccess.NONE),
                new XsPermission(GUEST, XsAccess.READ), new XsPermission(9, XsAccess.BOTH));
        xs.mkdir(root + "/p");
        xs.setPerms(root + "/p", perms);
        assertThat(xs.getPerms(root + "/p")).isEqualTo(perms);
        xs.write(root + "/p/child", "c");
        assertThat(xs.getPerms(root + "/p/child")).isEqualTo(perms);
    }

    @Test
    void unprivilegedDomainIsBoundByOwnerAndAcl() throws IOException {
        Xenstore g = guest(GUEST);
        xs.write(root + "/closed", "secret");
        xs.setPerms(root + "/closed", NodePermissions.owned(0, XsAccess.NONE));
        xs.write(root + "/acl", "shared");
        xs.setPerms(root + "/acl", NodePermissions.of(new XsPermission(0, XsAccess.NONE),
                new XsPermission(GUEST, XsAccess.READ)));
        xs.write(root + "/owned", "mine");
        xs.setPerms(root + "/owned", NodePermissions.owned(GUEST, XsAccess.NONE));
        xs.write(root + "/open", "all");
        xs.setPerms(root + "/open", NodePermissions.owned(0, XsAccess.BOTH));

        assertThatThrownBy(() -> g.read(root + "/closed")).isInstanceOfSatisfying(XenstoreException.class,
                e -> assertThat(e.error()).isEqualTo(XsError.EACCES)).hasMessageContaining(root + "/closed");
        assertThat(g.readString(root + "/acl")).isEqualTo("shared");
        assertThat(errorOf(() -> g.write(root + "/acl", "no"))).isEqualTo(XsError.EACCES);
        g.write(root + "/owned", "changed by owner");
        assertThat(xs.readString(root + "/owned")).isEqualTo("changed by owner");
        g.write(root + "/open", "anyone");
        assertThat(xs.readString(root + "/open")).isEqualTo("anyone");
        // Domain 0 is privileged whatever the permissions say.
        assertThat(xs.readString(root + "/closed")).isEqualTo("secret");
    }

    @Test
    void unprivilegedCreatorOwnsWhatItCreatesAndCannotGiveItAway() throws IOException {
        Xenstore g = guest(GUEST);
        xs.mkdir(root + "/drop");
        xs.setPerms(root + "/drop", NodePermissions.of(new XsPermission(0, XsAccess.NONE),
                new XsPermission(GUEST, XsAccess.BOTH)));
        g.write(root + "/drop/item", "x");
        assertThat(xs.getPerms(root + "/drop/item").owner()).isEqualTo(GUEST);
        assertThat(errorOf(() -> g.setPerms(root + "/drop/item", NodePermissions.owned(0, XsAccess.BOTH))))
                .isEqualTo(XsError.EPERM);
        g.setPerms(root + "/drop/item", NodePermissions.owned(GUEST, XsAccess.READ));
        assertThat(xs.getPerms(root + "/drop/item")).isEqualTo(NodePermissions.owned(GUEST, XsAccess.READ));
    }

    @Test
    void relativePathsResolveAgainstTheCallersHome() throws IOException {
        Xenstore g = guest(GUEST);
        String home = XenstorePaths.domainPath(GUEST);
        xs.mkdir(home);
        xs.setPerms(home, NodePermissions.owned(GUEST, XsAccess.NONE));
        g.write("spdksr-conformance/rel", "r");
        assertThat(xs.readString(home + "/spdksr-conformance/rel")).isEqualTo("r");
    }

    // ---- watches -----------------------------------------------------------------------------

    private static WatchEvent nextEvent(XenstoreWatch w) throws IOException, InterruptedException {
        Optional<WatchEvent> e = w.next(WAIT);
        assertThat(e).as("a watch event on %s within %s", w.path(), WAIT).isPresent();
        return e.get();
    }

    @Test
    void watchFiresOnceOnRegistrationWithTheWatchedPath() throws Exception {
        try (XenstoreWatch w = xs.watch(root)) {
            WatchEvent first = nextEvent(w);
            assertThat(first.path()).isEqualTo(root);
            assertThat(first.token()).isEqualTo(w.token());
            xs.write(root + "/marker", "m");
            // The next event is the marker's: registration fired exactly once.
            assertThat(nextEvent(w).path()).isEqualTo(root + "/marker");
        }
    }

    @Test
    void watchFiresForChangesBelowButNotBeside() throws Exception {
        xs.mkdir(root + "/w");
        xs.mkdir(root + "/beside");
        try (XenstoreWatch w = xs.watch(root + "/w")) {
            nextEvent(w);
            another().write(root + "/beside/x", "no");
            another().write(root + "/w/a/b", "yes");
            WatchEvent e = nextEvent(w);
            assertThat(e.path()).isEqualTo(root + "/w/a/b");
        }
    }

    @Test
    void removingAParentFiresWatchesSetBelowIt() throws Exception {
        xs.write(root + "/gone/deep/leaf", "1");
        try (XenstoreWatch w = xs.watch(root + "/gone/deep/leaf")) {
            nextEvent(w);
            xs.rm(root + "/gone");
            assertThat(nextEvent(w).path()).isEqualTo(root + "/gone/deep/leaf");
        }
    }

    @Test
    void relativeWatchReportsRelativePaths() throws Exception {
        Xenstore g = guest(GUEST);
        String home = XenstorePaths.domainPath(GUEST);
        xs.mkdir(home);
        xs.setPerms(home, NodePermissions.owned(GUEST, XsAccess.NONE));
        g.mkdir("spdksr-conformance");
        try (XenstoreWatch w = g.watch("spdksr-conformance")) {
            assertThat(nextEvent(w).path()).isEqualTo("spdksr-conformance");
            xs.write(home + "/spdksr-conformance/k", "v");
            assertThat(nextEvent(w).path()).isEqualTo("spdksr-conformance/k");
        }
    }

    @Test
    void watcherIsNotToldAboutNodesItCannotRead() throws Exception {
        Xenstore g = guest(GUEST);
        xs.mkdir(root + "/vis");
        xs.setPerms(root + "/vis", NodePermissions.owned(0, XsAccess.READ));
        xs.mkdir(root + "/vis/hidden");
        xs.setPerms(root + "/vis/hidden", NodePermissions.owned(0, XsAccess.NONE));
        try (XenstoreWatch w = g.watch(root + "/vis")) {
            nextEvent(w);
            xs.write(root + "/vis/hidden/secret", "s");
            xs.write(root + "/vis/shown", "x");
            assertThat(nextEvent(w).path()).isEqualTo(root + "/vis/shown");
        }
    }

    @Test
    void unwatchStopsEvents() throws Exception {
        XenstoreWatch w = xs.watch(root);
        nextEvent(w);
        XenstoreWatch sentinel = xs.watch(root);
        nextEvent(sentinel);
        w.close();
        xs.write(root + "/after-unwatch", "x");
        assertThat(nextEvent(sentinel).path()).isEqualTo(root + "/after-unwatch");
        assertThatThrownBy(() -> w.next(QUIET)).isInstanceOf(IOException.class).hasMessageContaining("closed");
        sentinel.close();
    }

    @Test
    void watchSeesEveryWriterUnderConcurrentWriters() throws Exception {
        xs.mkdir(root + "/many");
        int writers = 4;
        int perWriter = 25;
        try (XenstoreWatch w = xs.watch(root + "/many")) {
            nextEvent(w);
            ExecutorService pool = Executors.newFixedThreadPool(writers);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < writers; t++) {
                Xenstore c = another();
                int id = t;
                done.add(pool.submit(() -> {
                    for (int i = 0; i < perWriter; i++) {
                        c.write(root + "/many/w" + id + "-" + i, Integer.toString(i));
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            }
            pool.shutdown();
            Set<String> seen = new HashSet<>();
            while (seen.size() < writers * perWriter) {
                String p = nextEvent(w).path();
                if (!p.equals(root + "/many")) {
                    seen.add(p);
                }
            }
            assertThat(seen).hasSize(writers * perWriter);
        }
    }

    // ---- transactions ------------------------------------------------------------------------

    @Test
    void transactionCommitsAllItsWrites() throws IOException {
        xs.transaction(tx -> {
            tx.write(root + "/t/a", "1");
            tx.write(root + "/t/b", "2");
            return null;
        });
        assertThat(xs.readString(root + "/t/a")).isEqualTo("1");
        assertThat(xs.readString(root + "/t/b")).isEqualTo("2");
    }

    @Test
    void failedTransactionBodyLeavesNoTrace() throws IOException {
        assertThatThrownBy(() -> xs.transaction(tx -> {
            tx.write(root + "/aborted", "x");
            throw new IOException("body failed on purpose");
        })).hasMessageContaining("on purpose");
        assertThat(xs.readIfExists(root + "/aborted")).isEmpty();
    }

    @Test
    void writesInsideATransactionAreInvisibleUntilCommit() throws Exception {
        Xenstore other = another();
        xs.transaction(tx -> {
            tx.write(root + "/pending", "x");
            assertThat(tx.readString(root + "/pending")).isEqualTo("x");
            assertThat(other.readIfExists(root + "/pending")).isEmpty();
            return null;
        });
        assertThat(other.readString(root + "/pending")).isEqualTo("x");
    }

    @Test
    void watchFiresOnlyAtCommit() throws Exception {
        xs.mkdir(root + "/wt");
        Xenstore other = another();
        try (XenstoreWatch w = other.watch(root + "/wt")) {
            nextEvent(w);
            xs.transaction(tx -> {
                tx.write(root + "/wt/k", "v");
                try {
                    assertThat(w.next(QUIET)).as("no event before commit").isEmpty();
                } catch (InterruptedException e) {
                    throw new IOException(e);
                }
                return null;
            });
            assertThat(nextEvent(w).path()).isEqualTo(root + "/wt/k");
        }
    }

    @Test
    void interveningWriteMakesCommitRetryTheWholeBody() throws IOException {
        Xenstore other = another();
        xs.write(root + "/c", "0");
        AtomicInteger runs = new AtomicInteger();
        String result = xs.transaction(tx -> {
            String v = tx.readString(root + "/c");
            if (runs.incrementAndGet() == 1) {
                other.write(root + "/c", "10");
            }
            tx.write(root + "/c", Integer.toString(Integer.parseInt(v) + 1));
            return v;
        });
        assertThat(runs).hasValue(2);
        assertThat(result).isEqualTo("10");
        assertThat(xs.readString(root + "/c")).isEqualTo("11");
    }

    @Test
    void concurrentIncrementTransactionsLoseNoUpdate() throws Exception {
        xs.write(root + "/counter", "0");
        int threads = 4;
        int increments = 20;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Xenstore c = another();
            done.add(pool.submit(() -> {
                for (int i = 0; i < increments; i++) {
                    c.transaction(tx -> {
                        int v = Integer.parseInt(tx.readString(root + "/counter"));
                        tx.write(root + "/counter", Integer.toString(v + 1));
                        return null;
                    });
                }
                return null;
            }));
        }
        for (Future<?> f : done) {
            f.get(WAIT.toSeconds() * 2, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertThat(xs.readString(root + "/counter")).isEqualTo(Integer.toString(threads * increments));
    }
}
