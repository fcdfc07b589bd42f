package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.LoadGenerator;
import org.spdksr.datapath.sim.blkfront.LoadReport;
import org.spdksr.datapath.sim.blkfront.LoadSpec;
import org.spdksr.datapath.sim.blkfront.Operation;
import org.spdksr.datapath.sim.blkfront.Response;
import org.spdksr.datapath.sim.blkfront.SimGuest;

/**
 * blkifd is killed (SIGKILL) at random moments under a verified guest load, 20 times; its
 * supervisor starts it again, and the new process takes the guest's rings over without the
 * frontend reconnecting (issue 18). The guest must see no error, read back nothing wrong, and no
 * grant mapping may be left once the disk is unplugged. Kill-to-serving times are printed.
 */
@Timeout(600)
class BlkifdCrashRestartTest {
    private static final long DISK = 32L << 20;
    private static final int SECTORS = (int) (DISK / 512);
    private static final int KILLS = 20;
    private static final String DOMAIN = "21";

    @TempDir
    Path base;
    private DatapathLab lab;

    @BeforeEach
    void setUp() throws Exception {
        // The test kills far more often than the production limit of 5 restarts a minute.
        lab = new DatapathLab(base, Map.of("SPDK_SR_BLKIFD_RESTART_BURST", Integer.toString(KILLS + 5)));
    }

    @AfterEach
    void tearDown() throws Exception {
        lab.close();
    }

    @Test
    void twentyKillsUnderAVerifiedLoadLoseNothingAndShowTheGuestNoError() throws Exception {
        Xapi.CreatedSr sr = lab.newSr("crash");
        String uri = lab.xapi.datapathUri(sr.sr(), lab.xapi.vdiCreate(sr.sr(), "system", DISK).key());
        SimGuest guest = lab.guest(Integer.parseInt(DOMAIN));
        // Two queues, persistent grants and indirect requests: every piece of state a restart loses.
        DatapathLab.StartedDisk disk = lab.startDisk(guest, uri, "xvda",
                FrontOptions.defaults().withQueues(2).withTimeout(Duration.ofSeconds(60)));

        LoadGenerator load = new LoadGenerator(disk.front(), LoadSpec.mixed(8, Long.MAX_VALUE, SECTORS, 18)
                .withMaxDuration(Duration.ofMinutes(4)));
        CompletableFuture<LoadReport> running = CompletableFuture.supplyAsync(() -> {
            try {
                return load.run();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });

        Random random = new Random(18);
        List<Long> restartMillis = new ArrayList<>();
        for (int kill = 0; kill < KILLS; kill++) {
            Thread.sleep(100 + random.nextInt(400));
            ProcessHandle victim = lab.blkifd(DOMAIN).orElseThrow(() -> new AssertionError("no blkifd to kill"));
            long completedBefore = load.completed();
            long t0 = System.nanoTime();
            new ProcessBuilder("kill", "-KILL", Long.toString(victim.pid())).start().waitFor();
            restartMillis.add(awaitServingAgain(victim, load, t0, disk));
            assertThat(load.completed()).as("the load goes on after kill %d", kill + 1).isGreaterThan(completedBefore);
        }
        load.stop();
        LoadReport report = running.get(5, TimeUnit.MINUTES);
        String rings = disk.front().describeQueues();

        assertThat(report.problems()).as("what the guest saw (%s); blkifd's log:%n%s", rings, lab.blkifdLog(DOMAIN))
                .isEmpty();
        assertThat(report.errors()).isZero();
        assertThat(report.mismatches()).isZero();
        assertThat(disk.front().protocolViolations()).as("protocol violations the guest saw").isEmpty();
        // After the last kill every block still holds what the guest last wrote.
        for (long sector = 0; sector < SECTORS; sector += 2048) {
            Response r = disk.front().submit(0, Operation.READ, sector, new byte[1 << 20]).get(60, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(Response.OKAY);
            assertThat(load.model().check(sector, r.data())).as("sectors %d.. after the kills", sector).isNull();
        }

        // Every dead blkifd's mappings went with it (as gntdev's do); the live one unmaps at Closed.
        lab.xenopsd.unplugClean(disk.vbd(), Duration.ofSeconds(60));
        assertThat(lab.host.liveMappings(Integer.parseInt(DOMAIN))).as("guest pages mapped after the unplug").isEmpty();
        lab.xapi.vdiDeactivate(uri, DOMAIN);
        lab.xapi.vdiDetach(uri, DOMAIN);
        assertThat(lab.blkifd(DOMAIN)).as("blkifd after the last detach").isEmpty();
        assertThat(Files.exists(lab.domainDir(DOMAIN).resolve("supervisor.pid"))).as("supervisor after detach").isFalse();

        List<Long> sorted = restartMillis.stream().sorted().toList();
        System.out.printf("blkifd crash restart: %d kills under load, %d requests verified, 0 errors; "
                + "kill to serving again: median %d ms, max %d ms, all %s%n", KILLS, report.requests(),
                sorted.get(sorted.size() / 2), sorted.get(sorted.size() - 1), restartMillis);
    }

    /** Waits for a new blkifd and for the guest's load to make progress through it; returns the ms since the kill. */
    private long awaitServingAgain(ProcessHandle victim, LoadGenerator load, long killedAt, DatapathLab.StartedDisk disk)
            throws Exception {
        assertThat(victim.onExit().get(10, TimeUnit.SECONDS).isAlive()).isFalse();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Optional<ProcessHandle> next = Optional.empty();
        while (System.nanoTime() < deadline) {
            next = lab.blkifd(DOMAIN).filter(p -> p.pid() != victim.pid());
            if (next.isPresent()) {
                break;
            }
            Thread.sleep(5);
        }
        assertThat(next).as("a blkifd restarted after pid %d was killed; log:%n%s", victim.pid(), lab.blkifdLog(DOMAIN))
                .isPresent();
        long seen = load.completed();
        while (load.completed() == seen && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertThat(load.completed()).as("requests completed through the restarted blkifd (the guest has %d in flight, "
                + "saw %s); log:%n%s", disk.front().inFlight(), disk.front().protocolViolations(), lab.blkifdLog(DOMAIN))
                .isGreaterThan(seen);
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - killedAt);
    }
}
