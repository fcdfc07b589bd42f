package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * XSS serves a queue with several scripts at once and never times out (smapiv3.md §3.1), so the
 * plugin's own locking must keep an SR consistent under parallel calls. Fifty mixed calls run
 * together on one SR, then the SR's view is compared with the files and with what each call did.
 */
class ConcurrencyTest {
    private static final long MIB = 1L << 20;
    private static final int BASES = 6;
    private static final int DOOMED = 5;
    private static final int THREADS = 8;

    private final Xapi xapi = Xapi.staged();

    @TempDir
    Path srDir;

    /** What the calls that succeeded promise about the final state. */
    private final Set<String> created = ConcurrentHashMap.newKeySet();
    private final Set<String> destroyed = ConcurrentHashMap.newKeySet();
    private final Map<String, Map<String, String>> keysSet = new ConcurrentHashMap<>();
    private final Map<String, Long> resizedTo = new ConcurrentHashMap<>();

    @Test
    void fiftyParallelMixedCallsLeaveTheSrConsistent() throws Exception {
        String sr = xapi.srCreateAndPlug(Map.of("path", srDir.toString()), "busy", "").sr();
        List<Volume> bases = new ArrayList<>();
        for (int i = 0; i < BASES; i++) {
            Volume v = xapi.vdiCreate(sr, "base-" + i, 4 * MIB);
            bases.add(v);
            created.add(v.key());
            keysSet.computeIfAbsent(v.key(), k -> new ConcurrentHashMap<>()).put("vdi-type", "user");
        }
        List<Volume> doomed = new ArrayList<>();
        for (int i = 0; i < DOOMED; i++) {
            Volume v = xapi.vdiCreate(sr, "doomed-" + i, MIB);
            doomed.add(v);
            created.add(v.key());
        }

        List<Call> calls = plan(sr, bases, doomed);
        assertThat(calls).hasSize(50);
        Collections.shuffle(calls, new Random(20261125L));

        List<String> failures = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (Call c : calls) {
                futures.add(pool.submit(() -> {
                    try {
                        c.body().run();
                    } catch (RuntimeException e) {
                        failures.add(c.name() + ": " + e.getMessage());
                    }
                }));
            }
            for (Future<?> f : futures) {
                f.get(10, TimeUnit.MINUTES);
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(failures).as("calls that failed").isEmpty();

        checkConsistency(sr);
    }

    private record Call(String name, Runnable body) {
    }

    /** 50 calls: every kind of mutation plus readers, each with a known effect on the end state. */
    private List<Call> plan(String sr, List<Volume> bases, List<Volume> doomed) {
        List<Call> calls = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            int n = i;
            calls.add(new Call("Volume.create #" + n, () -> {
                Volume v = Volume.from(xapi.volumeCall("Volume.create", "sr", sr, "name", "new-" + n,
                        "description", "", "size", MIB, "sharable", false));
                created.add(v.key());
            }));
        }
        // Several writers on the same two volumes: a lost update would show as a missing key.
        for (int i = 0; i < 10; i++) {
            String key = bases.get(i % 2).key();
            String k = "parallel-" + i;
            String v = "value-" + i + "-✓";
            calls.add(new Call("Volume.set " + k, () -> {
                xapi.volumeSet(sr, key, k, v);
                keysSet.computeIfAbsent(key, x -> new ConcurrentHashMap<>()).put(k, v);
            }));
        }
        for (int i = 0; i < 6; i++) {
            String key = bases.get(i % BASES).key();
            calls.add(new Call("Volume.snapshot of " + key, () -> {
                Volume s = Volume.from(xapi.volumeCall("Volume.snapshot", "sr", sr, "key", key));
                assertReadWrite(s, false);
                created.add(s.key());
            }));
        }
        for (int i = 0; i < 6; i++) {
            String key = bases.get((i + 3) % BASES).key();
            calls.add(new Call("Volume.clone of " + key, () -> {
                Volume c = Volume.from(xapi.volumeCall("Volume.clone", "sr", sr, "key", key));
                assertReadWrite(c, true);
                created.add(c.key());
            }));
        }
        for (int i = 2; i < BASES; i++) {
            String key = bases.get(i).key();
            long size = (8 + i) * MIB;
            calls.add(new Call("Volume.resize " + key, () -> {
                xapi.volumeCall("Volume.resize", "sr", sr, "key", key, "new_size", size);
                resizedTo.put(key, size);
            }));
        }
        // Two of the doomed volumes are destroyed twice at once: destroy is idempotent even in a race.
        List<Volume> destroys = new ArrayList<>(doomed);
        destroys.add(doomed.get(0));
        destroys.add(doomed.get(1));
        for (Volume d : destroys) {
            calls.add(new Call("Volume.destroy " + d.key(), () -> {
                xapi.vdiDestroy(sr, d.key());
                destroyed.add(d.key());
            }));
        }
        for (int i = 0; i < 5; i++) {
            calls.add(new Call("SR.ls #" + i, () -> xapi.srLs(sr)));
        }
        for (int i = 0; i < 4; i++) {
            String key = bases.get(i % BASES).key();
            calls.add(new Call("Volume.stat " + key, () -> xapi.volumeStat(sr, key)));
        }
        return calls;
    }

    private static void assertReadWrite(Volume v, boolean expected) {
        if (v.readWrite() != expected) {
            throw new IllegalStateException("read_write of " + v.key() + " is " + v.readWrite());
        }
    }

    private void checkConsistency(String sr) throws Exception {
        Xapi.Scan scan = xapi.srScan(sr);
        Set<String> listed = scan.volumes().stream().map(Volume::key).collect(Collectors.toSet());
        assertThat(scan.volumes()).extracting(Volume::key).doesNotHaveDuplicates();
        assertThat(scan.volumes()).extracting(Volume::uuid).doesNotHaveDuplicates();

        Set<String> expected = created.stream().filter(k -> !destroyed.contains(k)).collect(Collectors.toSet());
        assertThat(expected).hasSize(BASES + 8 + 6 + 6);
        assertThat(listed).containsExactlyInAnyOrderElementsOf(expected);

        // SR.ls agrees with the files on disk: one <key>.raw per listed volume, nothing else.
        try (Stream<Path> files = Files.list(Disk.volumesDir(srDir))) {
            Set<String> onDisk = files.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
            assertThat(onDisk).containsExactlyInAnyOrderElementsOf(
                    expected.stream().map(k -> k + ".raw").collect(Collectors.toSet()));
        }
        for (Volume v : scan.volumes()) {
            assertThat(Disk.size(Disk.volumeFile(srDir, v.key()))).as("file size of %s", v.key())
                    .isEqualTo(v.virtualSize());
        }
        keysSet.forEach((key, keys) ->
                assertThat(scan.volume(key).keys()).as("keys of %s", key).containsAllEntriesOf(keys));
        resizedTo.forEach((key, size) ->
                assertThat(scan.volume(key).virtualSize()).as("size of %s", key).isEqualTo(size));
        assertThat(xapi.srStat(sr).healthy()).isTrue();
        assertThat(sqliteIntegrity(srDir.resolve("spdk-sr.db"))).as("PRAGMA integrity_check of the SR's metadata")
                .containsExactly("ok");
        // No writer died mid-transaction: SQLite leaves no rollback journal behind.
        assertThat(srDir.resolve("spdk-sr.db-journal")).doesNotExist();
    }

    /** What SQLite says of the database after the parallel calls (issue 19 item 4: "integrity ok"). */
    private static List<String> sqliteIntegrity(Path db) throws java.sql.SQLException {
        List<String> rows = new ArrayList<>();
        try (var connection = java.sql.DriverManager.getConnection("jdbc:sqlite:" + db);
                var statement = connection.createStatement();
                var result = statement.executeQuery("PRAGMA integrity_check")) {
            while (result.next()) {
                rows.add(result.getString(1));
            }
        }
        return rows;
    }
}
