package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
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
import org.spdksr.datapath.sim.blkfront.SimGuest;

/**
 * VM start and stop through the real entry points and blkifd, with xenopsd and the guest
 * simulated (smapiv3.md §6, §7; ARCHITECTURE.md §3).
 */
@Timeout(300)
class DatapathEndToEndTest {
    private static final long DISK = 32L << 20;
    private static final int SECTORS = (int) (DISK / 512);

    @TempDir
    Path base;
    private DatapathLab lab;

    @BeforeEach
    void setUp() throws Exception {
        lab = new DatapathLab(base);
    }

    @AfterEach
    void tearDown() throws Exception {
        lab.close();
    }

    private static LoadReport run(LoadGenerator load) {
        try {
            return load.run();
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void vmStartAndStopWithTwoDisks() throws Exception {
        Xapi.CreatedSr sr = lab.newSr("two");
        Volume a = lab.xapi.vdiCreate(sr.sr(), "system", DISK);
        Volume b = lab.xapi.vdiCreate(sr.sr(), "data", DISK);
        String uriA = lab.xapi.datapathUri(sr.sr(), a.key());
        String uriB = lab.xapi.datapathUri(sr.sr(), b.key());
        SimGuest guest = lab.guest(11);

        DatapathLab.StartedDisk xvda = lab.startDisk(guest, uriA, "xvda", FrontOptions.defaults().withQueues(2));
        DatapathLab.StartedDisk xvdb = lab.startDisk(guest, uriB, "xvdb", FrontOptions.defaults());
        System.out.printf("MEASURE attach->Connected: first disk (blkifd start) %d ms, second disk %d ms%n",
                xvda.attachToConnectedMillis(), xvdb.attachToConnectedMillis());
        long pid = lab.blkifd("11").orElseThrow().pid();

        CompletableFuture<LoadReport> loadA = CompletableFuture.supplyAsync(
                () -> run(new LoadGenerator(xvda.front(), LoadSpec.mixed(8, 1500, SECTORS, 1))));
        LoadReport reportB = run(new LoadGenerator(xvdb.front(), LoadSpec.mixed(8, 1500, SECTORS, 2)));
        LoadReport reportA = loadA.get(120, TimeUnit.SECONDS);
        assertThat(reportA.problems()).isEmpty();
        assertThat(reportB.problems()).isEmpty();
        assertThat(reportA.clean() && reportB.clean()).isTrue();

        byte[] marker = new byte[4096];
        Arrays.fill(marker, (byte) 0x5a);
        assertThat(xvdb.front().write(SECTORS - 8, marker).get(30, TimeUnit.SECONDS).ok()).isTrue();
        assertThat(xvdb.front().flush().get(30, TimeUnit.SECONDS).ok()).isTrue();

        JsonNode status = lab.status();
        assertThat(status).hasSize(1);
        JsonNode daemon = status.get(0).get("status");
        assertThat(daemon.get("domain").asText()).isEqualTo("11");
        assertThat(daemon.get("disks")).hasSize(2);
        for (JsonNode disk : daemon.get("disks")) {
            assertThat(disk.get("state").asText()).isEqualTo("active");
            assertThat(disk.get("vbds")).hasSize(1);
            assertThat(disk.get("vbds").get(0).get("state").asText()).isEqualTo("CONNECTED");
            assertThat(disk.get("vbds").get(0).get("counters").get("writes").asLong()).isPositive();
        }

        lab.stopDisk(xvda, "11");
        assertThat(lab.blkifd("11")).as("blkifd keeps running for the second disk").isPresent();
        lab.stopDisk(xvdb, "11");
        ProcessHandle.of(pid).ifPresent(ph -> ph.onExit().orTimeout(30, TimeUnit.SECONDS).join());
        assertThat(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false))
                .as("blkifd stops after the last detach").isFalse();
        assertThat(Files.exists(lab.domainDir("11").resolve("control.sock"))).isFalse();
        assertThat(Disk.read(Disk.volumeFile(Path.of(sr.deviceConfig().get("path")), b.key()), DISK - 4096, 4096))
                .as("the guest's flushed write is in the volume").isEqualTo(marker);

        // detach never fails, and repeating the shutdown calls is harmless (§4.6)
        lab.xapi.vdiDeactivate(uriB, "11");
        lab.xapi.vdiDetach(uriB, "11");
    }
}
