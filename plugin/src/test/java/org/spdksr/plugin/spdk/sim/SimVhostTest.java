package org.spdksr.plugin.spdk.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.RandomAccessFile;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.OptionalLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.plugin.spdk.SpdkClient;
import org.spdksr.plugin.spdk.SpdkClientSettings;
import org.spdksr.plugin.spdk.SpdkErrorKind;
import org.spdksr.plugin.spdk.SpdkRpcException;
import org.spdksr.plugin.spdk.VhostController;

/**
 * The client's vhost_blk calls against the simulator, whose controllers are real
 * qemu-storage-daemon vhost-user-blk servers (spdk-rpc.md §6, export paths).
 */
class SimVhostTest {
    @TempDir
    Path dir;

    private SpdkSimulator sim;
    private SpdkClient client;
    private String lvol;

    @BeforeEach
    void start() throws Exception {
        boolean installed = Arrays.stream(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .anyMatch(d -> Files.isExecutable(Path.of(d, SimVhost.DAEMON)));
        assumeTrue(installed, "skipped: qemu-storage-daemon is not installed (apt-get install qemu-system-common)");
        sim = SpdkSimulator.start(dir.resolve("spdk.sock"), null, dir.resolve("vhost"));
        client = new SpdkClient(new SpdkClientSettings(dir.resolve("spdk.sock"), Duration.ofSeconds(5),
                Duration.ofMillis(20), Duration.ofSeconds(30)));
        Path disk = dir.resolve("disk.img");
        try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(256L << 20);
        }
        client.aioCreate("aio0", disk);
        String lvs = client.createLvstore("aio0", "lvs", OptionalLong.empty());
        lvol = client.createLvol(lvs, "vol", 64, true);
    }

    @AfterEach
    void stop() throws Exception {
        if (client != null) {
            client.close();
        }
        if (sim != null) {
            sim.close();
        }
    }

    @Test
    void aControllerIsAVhostUserSocketInTheVhostDirectory() throws Exception {
        client.createVhostBlkController("c0", "lvs/vol", true);
        VhostController c = client.vhostController("c0").orElseThrow();
        assertThat(c.socket()).isEqualTo(dir.resolve("vhost/c0"));
        assertThat(c.socket()).exists();
        assertThat(c.bdev()).isEqualTo(lvol); // SPDK reports the bdev name: the lvol's uuid
        assertThat(c.readOnly()).isTrue();
        assertThat(c.sessions()).isZero();
        assertThat(client.vhostControllers()).extracting(VhostController::name).containsExactly("c0");
    }

    /**
     * A request that races the exit (blkifd restores its controller the moment the old socket
     * hangs up) must not make a controller whose qemu-storage-daemon outlives the "process".
     */
    @Test
    void nothingIsCreatedAfterTheTargetExited() throws Exception {
        Path vhost = Files.createDirectories(dir.resolve("exited-vhost"));
        SimTarget target = new SimTarget(new com.fasterxml.jackson.databind.ObjectMapper(), vhost);
        target.shutdown();
        var params = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("ctrlr", "late")
                .put("dev_name", "lvs/vol");
        assertThatThrownBy(() -> target.call("vhost_create_blk_controller", params))
                .isInstanceOf(SimTarget.TargetExited.class);
        try (var files = Files.list(vhost)) {
            assertThat(files).isEmpty();
        }
    }

    @Test
    void errorsAreClassified() throws Exception {
        client.createVhostBlkController("c0", "lvs/vol", false);
        assertThatThrownBy(() -> client.createVhostBlkController("c0", "lvs/vol", false))
                .isInstanceOfSatisfying(SpdkRpcException.class, e -> assertThat(e.kind()).isEqualTo(SpdkErrorKind.EXISTS));
        assertThatThrownBy(() -> client.createVhostBlkController("c1", "lvs/missing", false))
                .isInstanceOfSatisfying(SpdkRpcException.class, e -> assertThat(e.kind()).isEqualTo(SpdkErrorKind.NOT_FOUND));
        assertThat(client.vhostController("nope")).isEmpty();
        assertThatThrownBy(() -> client.deleteVhostController("nope"))
                .isInstanceOfSatisfying(SpdkRpcException.class, e -> assertThat(e.kind()).isEqualTo(SpdkErrorKind.NOT_FOUND));
    }

    @Test
    void deleteIsRefusedWhileAnInitiatorIsConnected() throws Exception {
        client.createVhostBlkController("c0", "lvs/vol", false);
        Path socket = client.vhostController("c0").orElseThrow().socket();
        try (SocketChannel initiator = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            initiator.connect(UnixDomainSocketAddress.of(socket));
            awaitSessions(1);
            assertThatThrownBy(() -> client.deleteVhostController("c0")).isInstanceOf(SpdkRpcException.class)
                    .hasMessageContaining("busy");
        }
        awaitSessions(0);
        client.deleteVhostController("c0");
        assertThat(client.vhostControllers()).isEmpty();
        assertThat(socket).doesNotExist();
    }

    @Test
    void aRestartWithTheSavedConfigBringsTheControllerBack() throws Exception {
        client.createVhostBlkController("c0", "lvs/vol", false);
        Path saved = dir.resolve("saved.json");
        client.saveConfig().writeTo(saved, new com.fasterxml.jackson.databind.ObjectMapper());
        client.close();
        sim.close();
        assertThat(dir.resolve("vhost/c0")).doesNotExist();
        sim = SpdkSimulator.start(dir.resolve("spdk.sock"), saved, dir.resolve("vhost"));
        client = new SpdkClient(new SpdkClientSettings(dir.resolve("spdk.sock"), Duration.ofSeconds(5),
                Duration.ofMillis(20), Duration.ofSeconds(30)));
        assertThat(client.vhostController("c0")).hasValueSatisfying(c -> assertThat(c.socket()).exists());
    }

    @Test
    void deletingTheLvolHotRemovesItsController() throws Exception {
        client.createVhostBlkController("c0", "lvs/vol", false);
        client.delete("lvs/vol");
        assertThat(client.vhostControllers()).isEmpty();
    }

    private void awaitSessions(int wanted) throws Exception {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (client.vhostController("c0").orElseThrow().sessions() != wanted) {
            assertThat(System.nanoTime()).as("sessions never became %d", wanted).isLessThan(deadline);
            Thread.sleep(20);
        }
    }
}
