package org.spdksr.plugin.spdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.OptionalLong;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.plugin.spdk.sim.SpdkSimulator;

/** The client against the simulator over a real unix socket. */
class SpdkClientTest {
    private static final long GIB = 1L << 30;

    @TempDir
    Path dir;

    private SpdkSimulator sim;
    private SpdkClient client;
    private Path disk;

    @BeforeEach
    void start() throws Exception {
        sim = SpdkSimulator.start(dir.resolve("spdk.sock"));
        client = new SpdkClient(settings(Duration.ofSeconds(5), Duration.ofSeconds(30)));
        disk = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(GIB);
        }
    }

    @AfterEach
    void stop() throws Exception {
        client.close();
        sim.close();
    }

    private SpdkClientSettings settings(Duration connect, Duration call) {
        return new SpdkClientSettings(dir.resolve("spdk.sock"), connect, Duration.ofMillis(20), call);
    }

    private static SpdkErrorKind kindOf(ThrowingCall call) {
        try {
            call.run();
        } catch (SpdkRpcException e) {
            return e.kind();
        } catch (Exception e) {
            throw new AssertionError("unexpected " + e, e);
        }
        throw new AssertionError("no failure");
    }

    interface ThrowingCall {
        void run() throws Exception;
    }

    @Test
    void typedCallsCoverTheLvolLifecycle() throws Exception {
        assertThat(client.version().version()).isEqualTo("SPDK v25.05");
        assertThat(client.aioCreate("aio0", disk)).isEqualTo("aio0");
        String lvs = client.createLvstore("aio0", "lvs0", OptionalLong.empty());
        Lvstore store = client.lvstoreByName("lvs0").orElseThrow();
        assertThat(store.uuid()).isEqualTo(lvs);
        assertThat(store.totalDataClusters()).isEqualTo(255); // 1 GiB, 4 MiB clusters (spdk-rpc.md §6)
        assertThat(store.freeClusters()).isEqualTo(255);
        assertThat(client.bdev("aio0").orElseThrow().claimed()).isTrue();

        String v = client.createLvol(lvs, "v", 10, true);
        Bdev bdev = client.bdev("lvs0/v").orElseThrow();
        assertThat(bdev.name()).isEqualTo(v);
        assertThat(bdev.sizeBytes()).isEqualTo(12L << 20); // rounded up to 3 clusters
        sim.write("lvs0/v", 0, 5L << 20);
        assertThat(client.lvols(lvs)).singleElement().satisfies(l -> {
            assertThat(l.allocatedClusters()).isEqualTo(2);
            assertThat(l.thinProvisioned()).isTrue();
        });

        String snap = client.snapshot("lvs0/v", "s");
        assertThat(client.lvols(lvs)).anySatisfy(l -> {
            assertThat(l.uuid()).isEqualTo(snap);
            assertThat(l.snapshot()).isTrue();
            assertThat(l.allocatedClusters()).isEqualTo(2);
        }).anySatisfy(l -> {
            assertThat(l.uuid()).isEqualTo(v);
            assertThat(l.isClone()).isTrue();
            assertThat(l.allocatedClusters()).isZero();
        });
        client.clone("lvs0/s", "c");
        // Two clones (v and c): the snapshot cannot go (§6, seen: -32603 Operation not permitted).
        assertThat(kindOf(() -> client.delete("lvs0/s"))).isEqualTo(SpdkErrorKind.NOT_PERMITTED);
        client.delete("lvs0/c");
        client.delete("lvs0/s"); // one clone: merged into v
        assertThat(client.lvols(lvs)).singleElement().satisfies(l -> {
            assertThat(l.isClone()).isFalse();
            assertThat(l.allocatedClusters()).isEqualTo(2);
        });
        client.resize("lvs0/v", 100);
        assertThat(client.bdev("lvs0/v").orElseThrow().sizeBytes()).isEqualTo(100L << 20);
        client.deleteLvstore(lvs);
        assertThat(client.lvstores()).isEmpty();
        assertThat(client.bdev(v)).isEmpty();
    }

    @Test
    void errorsAreClassifiedWhicheverCodeCarriesThem() throws Exception {
        client.aioCreate("aio0", disk);
        String lvs = client.createLvstore("aio0", "lvs0", OptionalLong.empty());
        client.createLvol(lvs, "v", 4, true);
        // duplicate name: -17 on create, -32602 "File exists" on snapshot (§2)
        assertThat(kindOf(() -> client.createLvol(lvs, "v", 4, true))).isEqualTo(SpdkErrorKind.EXISTS);
        client.snapshot("lvs0/v", "s");
        assertThat(kindOf(() -> client.snapshot("lvs0/v", "s"))).isEqualTo(SpdkErrorKind.EXISTS);
        assertThat(kindOf(() -> client.aioCreate("aio0", disk))).isEqualTo(SpdkErrorKind.EXISTS);
        assertThat(kindOf(() -> client.delete("lvs0/missing"))).isEqualTo(SpdkErrorKind.NOT_FOUND);
        assertThat(kindOf(() -> client.createLvol("no-such-lvs", "x", 4, true))).isEqualTo(SpdkErrorKind.NOT_FOUND);
        assertThat(kindOf(() -> client.clone("lvs0/v", "c"))).isEqualTo(SpdkErrorKind.INVALID_ARGUMENT);
        assertThat(kindOf(() -> client.createLvol(lvs, "thick", 2048, false))).isEqualTo(SpdkErrorKind.NO_SPACE);
        // an lvstore on a claimed bdev: -1 Operation not permitted (§6, seen)
        SpdkRpcException claimed = org.junit.jupiter.api.Assertions.assertThrows(SpdkRpcException.class,
                () -> client.createLvstore("aio0", "lvs1", OptionalLong.empty()));
        assertThat(claimed.kind()).isEqualTo(SpdkErrorKind.NOT_PERMITTED);
        assertThat(claimed.code()).isEqualTo(-1);
        assertThat(claimed.getMessage()).contains("bdev_lvol_create_lvstore", "Operation not permitted",
                dir.resolve("spdk.sock").toString());
        assertThat(client.lvstoreByName("nope")).isEmpty();
        assertThat(client.bdev("nope")).isEmpty();
    }

    @Test
    void aRequestAbove32KiBIsRefusedBeforeSending() throws Exception {
        String huge = "x".repeat(40_000);
        SpdkRpcException e = org.junit.jupiter.api.Assertions.assertThrows(SpdkRpcException.class,
                () -> client.aioCreate(huge, disk));
        assertThat(e.kind()).isEqualTo(SpdkErrorKind.INVALID_ARGUMENT);
        assertThat(e.getMessage()).contains("not sent");
        assertThat(sim.receivedMethods()).doesNotContain("bdev_aio_create");
        assertThat(client.version().major()).isEqualTo(25); // the connection is still usable
    }

    @Test
    void aLateReplyIsMatchedByIdAndDropped() throws Exception {
        try (SpdkClient impatient = new SpdkClient(settings(Duration.ofSeconds(5), Duration.ofMillis(200)))) {
            CountDownLatch gate = sim.holdReplies("bdev_wait_for_examine");
            assertThat(kindOf(impatient::waitForExamine)).isEqualTo(SpdkErrorKind.TIMEOUT);
            gate.countDown(); // the held reply now arrives, late, on the same connection
            impatient.aioCreate("aio0", disk);
            assertThat(impatient.bdev("aio0")).isPresent();
            assertThat(impatient.version().version()).isEqualTo("SPDK v25.05");
        }
    }

    @Test
    void repliesInSmallPiecesAreReassembled() throws Exception {
        sim.fragmentReplies(true);
        client.aioCreate("aio0", disk);
        String lvs = client.createLvstore("aio0", "lvs0", OptionalLong.empty());
        for (int i = 0; i < 20; i++) {
            client.createLvol(lvs, "v" + i, 4, true);
        }
        assertThat(client.lvols(lvs)).hasSize(20);
        assertThat(client.bdevs()).hasSize(21);
    }

    @Test
    void connectRetriesWhileSpdkTgtStarts() throws Exception {
        sim.close();
        CompletableFuture<SpdkVersion> answer;
        try (SpdkClient patient = new SpdkClient(settings(Duration.ofSeconds(60), Duration.ofSeconds(30)))) {
            answer = CompletableFuture.supplyAsync(() -> {
                try {
                    return patient.version();
                } catch (SpdkRpcException e) {
                    throw new IllegalStateException(e);
                }
            });
            sim = SpdkSimulator.start(dir.resolve("spdk.sock"));
            assertThat(answer.get().version()).isEqualTo("SPDK v25.05");
        }
    }

    @Test
    void spdkTgtDownIsReportedAsNotRunning() throws Exception {
        sim.close();
        try (SpdkClient quick = new SpdkClient(settings(Duration.ZERO, Duration.ofSeconds(5)))) {
            SpdkRpcException e = org.junit.jupiter.api.Assertions.assertThrows(SpdkRpcException.class, quick::version);
            assertThat(e.kind()).isEqualTo(SpdkErrorKind.NOT_RUNNING);
            assertThat(e.getMessage()).contains("spdk_tgt is not running", dir.resolve("spdk.sock").toString(),
                    "systemctl start spdk-sr-tgt");
        }
        // a crashed app leaves its socket file: connections are refused
        sim = SpdkSimulator.start(dir.resolve("spdk.sock"));
        client.version();
        sim.crash();
        try (SpdkClient quick = new SpdkClient(settings(Duration.ZERO, Duration.ofSeconds(5)))) {
            assertThat(kindOf(quick::version)).isEqualTo(SpdkErrorKind.NOT_RUNNING);
        }
        assertThat(kindOf(client::version)).isEqualTo(SpdkErrorKind.NOT_RUNNING);
        sim = SpdkSimulator.start(dir.resolve("spdk.sock"));
        assertThat(client.version().major()).isEqualTo(25); // reconnects on the next call
    }

    @Test
    void savedConfigRecreatesBaseBdevsAndExamineBringsLvolsBack() throws Exception {
        client.aioCreate("aio0", disk);
        String lvs = client.createLvstore("aio0", "lvs0", OptionalLong.of(1L << 20));
        String v = client.createLvol(lvs, "v", 8, true);
        SavedConfig config = client.saveConfig();
        assertThat(config.methodsOf("bdev")).containsSubsequence("bdev_aio_create", "bdev_wait_for_examine")
                .doesNotContain("bdev_lvol_create", "bdev_lvol_create_lvstore"); // §4
        Path file = dir.resolve("saved.json");
        config.writeTo(file, new com.fasterxml.jackson.databind.ObjectMapper());
        sim.close();
        sim = SpdkSimulator.start(dir.resolve("spdk.sock"), file);
        client.waitForExamine();
        assertThat(client.lvstoreByUuid(lvs).orElseThrow().clusterSize()).isEqualTo(1L << 20);
        assertThat(client.bdev("lvs0/v").orElseThrow().name()).isEqualTo(v);
    }
}
