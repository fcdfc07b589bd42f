package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.RandomAccessFile;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.blkifd.daemon.DiskEntry;
import org.spdksr.datapath.blkifd.daemon.DomainState;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.LoadGenerator;
import org.spdksr.datapath.sim.blkfront.LoadReport;
import org.spdksr.datapath.sim.blkfront.LoadSpec;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;
import org.spdksr.datapath.sim.blkfront.SimGuest;
import org.spdksr.datapath.sim.xenopsd.Vbd;
import org.spdksr.plugin.spdk.Lvol;
import org.spdksr.plugin.spdk.SpdkClient;
import org.spdksr.plugin.spdk.SpdkClientSettings;
import org.spdksr.plugin.spdk.VhostController;
import org.spdksr.plugin.spdk.sim.SpdkSimulator;

/**
 * Guests on an SR of the spdk back end, through the real entry points and blkifd: Datapath.activate
 * makes a vhost-user-blk controller for the lvol (spdk-rpc.md §6) and blkifd serves the guest's
 * ring through it. spdk_tgt is the simulator, whose controllers are real qemu-storage-daemon
 * vhost-user-blk servers on per-lvol data files, so the guest's data really crosses vhost-user.
 */
@Timeout(300)
class SpdkDatapathEndToEndTest {
    private static final long DISK = 64L << 20;
    private static final int SECTORS = (int) (DISK / 512);
    private static final long CLUSTER = 4L << 20;

    @TempDir
    Path base;
    private Path socket;
    private Path vhostDir;
    private Path state;
    private SpdkSimulator spdk;
    private DatapathLab lab;
    private Xapi.CreatedSr sr;

    @BeforeEach
    void setUp() throws Exception {
        boolean installed = Arrays.stream(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .anyMatch(d -> Files.isExecutable(Path.of(d, "qemu-storage-daemon")));
        assumeTrue(installed, "skipped: qemu-storage-daemon is not installed (apt-get install qemu-system-common)");
        socket = base.resolve("spdk.sock");
        vhostDir = Files.createDirectories(base.resolve("vhost"));
        state = base.resolve("state");
        spdk = SpdkSimulator.start(socket, null, vhostDir);
        // Hugepages, as spdk_tgt wants them (the production default), when this machine has enough
        // free for three 16 MiB regions; qemu-storage-daemon maps plain memory as well.
        String memory = freeHugePages() >= 24 ? "hugetlb" : "plain";
        System.out.println("MEASURE vhost shared memory in this run: " + memory);
        lab = new DatapathLab(base, Map.of("SPDK_SR_STATE_DIR", state.toString(), "SPDK_SR_VHOST_MEMORY", memory,
                "SPDK_SR_VHOST_REGION_MIB", "16"));
        Path device = base.resolve("nvme.img");
        try (RandomAccessFile f = new RandomAccessFile(device.toFile(), "rw")) {
            f.setLength(1L << 30);
        }
        sr = lab.xapi.srCreateAndPlug(Map.of("aio_path", device.toString(), "spdk_socket", socket.toString()),
                "spdk", "vhost datapath test SR");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (lab != null) {
            lab.close();
        }
        if (spdk != null) {
            spdk.close();
        }
    }

    private static long freeHugePages() throws java.io.IOException {
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("HugePages_Free:")) {
                return Long.parseLong(line.replaceAll("\\D", ""));
            }
        }
        return 0;
    }

    private SpdkClient client() {
        return new SpdkClient(new SpdkClientSettings(socket, Duration.ofSeconds(10), Duration.ofMillis(50),
                Duration.ofSeconds(30)));
    }

    private List<VhostController> controllers() throws Exception {
        try (SpdkClient c = client()) {
            return c.vhostControllers();
        }
    }

    private long allocatedClusters(String lvolName) throws Exception {
        try (SpdkClient c = client()) {
            String lvs = c.lvstoreByName("spdksr-" + sr.uuid()).orElseThrow().uuid();
            return c.lvols(lvs).stream().filter(l -> l.name().equals(lvolName)).findFirst().map(Lvol::allocatedClusters)
                    .orElseThrow();
        }
    }

    private static LoadReport run(LoadGenerator load) {
        try {
            return load.run();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void writeAndFlush(SimBlkfront front, long sector, byte[] data) throws Exception {
        assertThat(front.write(sector, data).get(30, TimeUnit.SECONDS).ok()).isTrue();
        assertThat(front.flush().get(30, TimeUnit.SECONDS).ok()).isTrue();
    }

    private static byte[] filled(int bytes, int value) {
        byte[] b = new byte[bytes];
        Arrays.fill(b, (byte) value);
        return b;
    }

    @Test
    void aGuestDiskOnAnLvolGoesThroughAVhostControllerThatDeactivateDeletes() throws Exception {
        Volume v = lab.xapi.vdiCreate(sr.sr(), "system", DISK);
        String uri = lab.xapi.datapathUri(sr.sr(), v.key());
        SimGuest guest = lab.guest(21);
        DatapathLab.StartedDisk xvda = lab.startDisk(guest, uri, "xvda", FrontOptions.defaults().withQueues(2));
        System.out.printf("MEASURE spdk lvol attach->Connected %d ms%n", xvda.attachToConnectedMillis());

        List<VhostController> made = controllers();
        assertThat(made).hasSize(1);
        VhostController c = made.get(0);
        assertThat(c.readOnly()).isFalse();
        assertThat(c.sessions()).as("blkifd is the controller's initiator").isEqualTo(1);
        assertThat(c.socket().getParent()).isEqualTo(vhostDir);

        LoadReport report = run(new LoadGenerator(xvda.front(), LoadSpec.mixed(8, 1500, SECTORS, 7)));
        assertThat(report.problems()).isEmpty();
        assertThat(report.clean()).isTrue();

        SimBlkfront front = xvda.front();
        byte[] marker = filled(1 << 20, 0x6b);
        writeAndFlush(front, 0, marker);
        assertThat(front.read(0, 1 << 20).get(30, TimeUnit.SECONDS).data()).isEqualTo(marker);
        long before = allocatedClusters(v.key());
        assertThat(before).as("the guest's writes allocated clusters of the thin lvol").isPositive();

        // The guest discards the whole disk: SPDK frees the lvol's clusters (issue: discard reaches SPDK).
        assertThat(front.backendInfo().discard()).as("discard is offered to the guest").isTrue();
        assertThat(front.discard(0, 0, SECTORS, false).get(60, TimeUnit.SECONDS).ok()).isTrue();
        assertThat(allocatedClusters(v.key())).as("clusters freed by the guest's discard").isLessThan(before)
                .isLessThanOrEqualTo(1);
        assertThat(front.read(0, 4096).get(30, TimeUnit.SECONDS).data()).isEqualTo(new byte[4096]);

        lab.stopDisk(xvda, "21");
        assertThat(controllers()).as("deactivate deletes the controller").isEmpty();
        assertThat(c.socket()).doesNotExist();
    }

    @Test
    void aSnapshotIsServedReadOnlyToTwoDomainsThroughTwoReadOnlyControllers() throws Exception {
        Volume v = lab.xapi.vdiCreate(sr.sr(), "system", DISK);
        String uri = lab.xapi.datapathUri(sr.sr(), v.key());
        DatapathLab.StartedDisk writer = lab.startDisk(lab.guest(31), uri, "xvda", FrontOptions.defaults());
        byte[] pattern = filled(64 << 10, 0x3c);
        writeAndFlush(writer.front(), 2048, pattern);
        Xapi.Snapshot snap = lab.xapi.vdiSnapshot(sr.sr(), v.key());
        String snapUri = lab.xapi.datapathUri(sr.sr(), snap.key());
        // The writer's volume moves on; the snapshot keeps what it held when it was taken.
        writeAndFlush(writer.front(), 2048, filled(4096, 0x77));

        for (int domid : new int[] {32, 33}) {
            SimGuest reader = lab.guest(domid);
            String domain = Integer.toString(domid);
            AttachResult attached = AttachResult.from(lab.xapi.vdiAttach(snapUri, domain));
            lab.xapi.vdiActivateReadonly(snapUri, domain);
            Vbd vbd = lab.plug(domid, "xvdb", attached, true);
            SimBlkfront front = new SimBlkfront(reader, vbd.devid(), FrontOptions.defaults());
            front.connect();
            assertThat(front.read(2048, pattern.length).get(30, TimeUnit.SECONDS).data()).isEqualTo(pattern);
            assertThat(front.write(0, filled(4096, 1)).get(30, TimeUnit.SECONDS).ok())
                    .as("a write to a read-only snapshot fails").isFalse();
            front.close();
        }
        List<VhostController> all = controllers();
        assertThat(all).hasSize(3);
        assertThat(all.stream().filter(VhostController::readOnly)).hasSize(2);
        assertThat(writer.front().read(2048, 4096).get(30, TimeUnit.SECONDS).data()).isEqualTo(filled(4096, 0x77));
        lab.stopDisk(writer, "31");
    }

    @Test
    void theGuestRidesThroughAnSpdkTgtRestart() throws Exception {
        Volume v = lab.xapi.vdiCreate(sr.sr(), "system", DISK);
        String uri = lab.xapi.datapathUri(sr.sr(), v.key());
        DatapathLab.StartedDisk xvda = lab.startDisk(lab.guest(41), uri, "xvda", FrontOptions.defaults());
        byte[] before = filled(256 << 10, 0x41);
        writeAndFlush(xvda.front(), 0, before);

        CompletableFuture<LoadReport> load = CompletableFuture.supplyAsync(
                () -> run(new LoadGenerator(xvda.front(), new LoadSpec(4, 4000, Duration.ofMinutes(2), SECTORS / 2,
                        SECTORS / 2, 1, 128, 45, 45, 5, 5, false, 11))));
        Thread.sleep(300);
        // spdk_tgt goes away and systemd starts it again from the configuration spdk-sr saved at
        // SR.attach, which has the SR's device but not this controller (spdk-rpc.md §4).
        spdk.close();
        Thread.sleep(1000);
        Path saved;
        try (var files = Files.list(state)) {
            saved = files.filter(f -> f.getFileName().toString().matches("spdk_tgt.*\\.json")).findFirst().orElseThrow();
        }
        spdk = SpdkSimulator.start(socket, saved, vhostDir);

        // Past the load's own 2-minute limit, so that a slow machine shows what the load saw.
        LoadReport report = load.get(240, TimeUnit.SECONDS);
        // The blkifd log goes with a failure: it says what the link saw, and the test's directory is gone after it.
        assertThat(report.problems()).as("load problems; blkifd log:%n%s%nqemu-storage-daemon logs:%n%s",
                lab.blkifdLog("41"), daemonLogs()).isEmpty();
        assertThat(report.clean()).isTrue();
        assertThat(xvda.front().read(0, before.length).get(30, TimeUnit.SECONDS).data()).isEqualTo(before);
        assertThat(controllers()).as("blkifd made its controller again").hasSize(1)
                .allSatisfy(c -> assertThat(c.sessions()).isEqualTo(1));
        assertThat(lab.blkifdLog("41")).contains("reconnected to the vhost-user back end");
        lab.stopDisk(xvda, "41");
        assertThat(controllers()).isEmpty();
    }

    @Test
    void theControllerOfAKilledBlkifdIsDeletedAtDeactivate() throws Exception {
        Volume v = lab.xapi.vdiCreate(sr.sr(), "system", DISK);
        String uri = lab.xapi.datapathUri(sr.sr(), v.key());
        lab.startDisk(lab.guest(51), uri, "xvda", FrontOptions.defaults());
        assertThat(controllers()).hasSize(1);
        ProcessHandle blkifd = lab.blkifd("51").orElseThrow();
        blkifd.destroyForcibly();
        blkifd.onExit().get(30, TimeUnit.SECONDS);
        lab.xapi.vdiDeactivate(uri, "51");
        assertThat(controllers()).isEmpty();
        lab.xapi.vdiDetach(uri, "51");
    }

    /**
     * The restart loses the race with the deactivate: the restarted blkifd reads a state in which
     * the disk is inactive, so it never opens it and cannot delete the controller its predecessor
     * made; deactivate must. The supervisor is held stopped until deactivate has written the state.
     */
    @Test
    void theControllerIsDeletedWhenTheRestartedBlkifdNeverOpensTheDisk() throws Exception {
        Volume v = lab.xapi.vdiCreate(sr.sr(), "system", DISK);
        String uri = lab.xapi.datapathUri(sr.sr(), v.key());
        lab.startDisk(lab.guest(52), uri, "xvda", FrontOptions.defaults());
        assertThat(controllers()).hasSize(1);
        long supervisor = Long.parseLong(Files.readString(lab.domainDir("52").resolve("supervisor.pid")).trim());
        signal("STOP", supervisor);
        CompletableFuture<Void> deactivate;
        try {
            ProcessHandle blkifd = lab.blkifd("52").orElseThrow();
            blkifd.destroyForcibly();
            // Its parent, the stopped supervisor, cannot reap it: it stays a zombie until resumed.
            awaitDeadOrZombie(blkifd.pid());
            deactivate = CompletableFuture.runAsync(() -> {
                try {
                    lab.xapi.vdiDeactivate(uri, "52");
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            Path stateFile = lab.domainDir("52").resolve("state.json");
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (DomainState.read(stateFile, "52").disks().values().stream().anyMatch(DiskEntry::active)) {
                assertThat(System.nanoTime() - deadline).as("deactivate wrote the state").isNegative();
                Thread.sleep(20);
            }
        } finally {
            signal("CONT", supervisor);
        }
        deactivate.get(60, TimeUnit.SECONDS);
        assertThat(controllers()).as("deactivate deleted the controller the killed blkifd made").isEmpty();
        lab.xapi.vdiDetach(uri, "52");
    }

    private static void awaitDeadOrZombie(long pid) throws Exception {
        Path stat = Path.of("/proc", Long.toString(pid), "stat");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            String text;
            try {
                text = Files.readString(stat);
            } catch (java.nio.file.NoSuchFileException gone) {
                return;
            }
            // The state follows the parenthesised command name (proc(5)).
            if (text.substring(text.lastIndexOf(')') + 2).startsWith("Z")) {
                return;
            }
            assertThat(System.nanoTime() - deadline).as("pid %d died", pid).isNegative();
            Thread.sleep(20);
        }
    }

    /** What the simulated target's qemu-storage-daemons printed, for a failure's description. */
    private String daemonLogs() throws IOException {
        try (var files = Files.list(vhostDir)) {
            StringBuilder logs = new StringBuilder();
            for (Path log : files.filter(f -> f.toString().endsWith(".log")).sorted().toList()) {
                logs.append("--- ").append(log.getFileName()).append('\n').append(Files.readString(log));
            }
            return logs.toString();
        }
    }

    private static void signal(String name, long pid) throws Exception {
        Process kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start();
        assertThat(kill.waitFor()).as("kill -" + name + " " + pid).isZero();
    }
}
