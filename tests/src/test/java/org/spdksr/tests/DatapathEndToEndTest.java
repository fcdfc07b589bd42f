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

    @Test
    void aDiskIsHotPluggedAndUnpluggedWhileTheOtherIsBusy() throws Exception {
        Xapi.CreatedSr sr = lab.newSr("hotplug");
        String uriA = lab.xapi.datapathUri(sr.sr(), lab.xapi.vdiCreate(sr.sr(), "busy", DISK).key());
        String uriB = lab.xapi.datapathUri(sr.sr(), lab.xapi.vdiCreate(sr.sr(), "hot", DISK).key());
        SimGuest guest = lab.guest(12);
        DatapathLab.StartedDisk xvda = lab.startDisk(guest, uriA, "xvda", FrontOptions.defaults());
        long pid = lab.blkifd("12").orElseThrow().pid();
        CompletableFuture<LoadReport> busy = CompletableFuture.supplyAsync(() -> run(new LoadGenerator(xvda.front(),
                new LoadSpec(8, 1_000_000, java.time.Duration.ofSeconds(12), 0, SECTORS, 1, 128, 45, 45, 5, 5, false, 3))));

        DatapathLab.StartedDisk xvdb = lab.startDisk(guest, uriB, "xvdb", FrontOptions.stockLinux());
        System.out.printf("MEASURE attach->Connected while another disk of the same blkifd is busy: %d ms%n",
                xvdb.attachToConnectedMillis());
        LoadReport hot = run(new LoadGenerator(xvdb.front(), LoadSpec.mixed(4, 500, SECTORS, 4)));
        assertThat(hot.problems()).isEmpty();
        lab.stopDisk(xvdb, "12");
        System.out.printf("hot-plug cycle done while the busy disk's load was %s%n", busy.isDone() ? "already over" : "running");

        LoadReport busyReport = busy.get(120, TimeUnit.SECONDS);
        assertThat(busyReport.problems()).isEmpty();
        assertThat(busyReport.clean()).isTrue();
        assertThat(busyReport.requests()).isPositive();
        assertThat(lab.blkifd("12").map(ProcessHandle::pid)).as("the same blkifd throughout").contains(pid);
        lab.stopDisk(xvda, "12");
    }

    private static String qemuIo(String target, String... commands) throws Exception {
        return qemuIoWith("", target, commands);
    }

    private static String qemuIoWith(String flag, String target, String... commands) throws Exception {
        java.util.List<String> argv = new java.util.ArrayList<>(java.util.List.of("qemu-io", "-f", "raw"));
        if (!flag.isEmpty()) {
            argv.add(flag);
        }
        argv.add(target);
        for (String c : commands) {
            argv.add("-c");
            argv.add(c);
        }
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        assertThat(out).doesNotContain("Pattern verification failed").doesNotContain("error");
        return out;
    }

    private static String qemuTarget(AttachResult attached) {
        return "nbd+unix:///" + attached.exportName() + "?socket=" + attached.nbdSocket();
    }

    @Test
    void aDom0AttachmentIsReadThroughNbdWhileAGuestUsesAnotherDisk() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-io")),
                "qemu-io is not installed (apt-get install qemu-utils)");
        Xapi.CreatedSr sr = lab.newSr("dom0");
        String uriA = lab.xapi.datapathUri(sr.sr(), lab.xapi.vdiCreate(sr.sr(), "guest", DISK).key());
        Volume exported = lab.xapi.vdiCreate(sr.sr(), "exported", DISK);
        String uriB = lab.xapi.datapathUri(sr.sr(), exported.key());
        Path fileB = Disk.volumeFile(Path.of(sr.deviceConfig().get("path")), exported.key());
        byte[] content = Disk.pattern(7, 1 << 20);
        Disk.write(fileB, 4L << 20, content);

        SimGuest guest = lab.guest(13);
        DatapathLab.StartedDisk xvda = lab.startDisk(guest, uriA, "xvda", FrontOptions.defaults());
        CompletableFuture<LoadReport> busy = CompletableFuture.supplyAsync(() -> run(new LoadGenerator(xvda.front(),
                LoadSpec.mixed(8, 3000, SECTORS, 5))));

        // vdi-copy / export: a dom0 attachment has a domain of its own (u0_..., §4.6: xapi-storage-script maps "-" and "/" to "_") and no ring.
        String dom0 = "u0_vbd_0_xvdb";
        AttachResult attached = AttachResult.from(lab.xapi.vdiAttach(uriB, dom0));
        lab.xapi.vdiActivateReadonly(uriB, dom0);
        String target = qemuTarget(attached);
        qemuIoWith("-r", target, "read -P 0 0 4M");
        Path copy = base.resolve("copy.raw");
        Process convert = new ProcessBuilder("qemu-img", "convert", "-f", "raw", "-O", "raw", target, copy.toString())
                .redirectErrorStream(true).start();
        String convertOut = new String(convert.getInputStream().readAllBytes());
        assertThat(convert.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(convert.exitValue()).as(convertOut).isZero();
        assertThat(Disk.read(copy, 4L << 20, content.length)).as("the copy read through NBD").isEqualTo(content);
        Process write = new ProcessBuilder("qemu-io", "-f", "raw", target, "-c", "write 0 4k").redirectErrorStream(true).start();
        String writeOut = new String(write.getInputStream().readAllBytes());
        write.waitFor(60, TimeUnit.SECONDS);
        assertThat(writeOut).as("a read-only activation refuses writes").containsIgnoringCase("permi");

        lab.xapi.vdiDeactivate(uriB, dom0);
        lab.xapi.vdiDetach(uriB, dom0);
        assertThat(lab.blkifd(dom0)).as("the dom0 attachment's blkifd is gone").isEmpty();
        LoadReport report = busy.get(120, TimeUnit.SECONDS);
        assertThat(report.problems()).isEmpty();
        lab.stopDisk(xvda, "13");
    }

    @Test
    void aSecondReadWriteActivationByAnotherDomainIsRefused() throws Exception {
        Xapi.CreatedSr sr = lab.newSr("exclusive");
        Volume v = lab.xapi.vdiCreate(sr.sr(), "shared-by-mistake", DISK);
        String uri = lab.xapi.datapathUri(sr.sr(), v.key());
        lab.xapi.vdiAttach(uri, "14");
        lab.xapi.vdiActivate(uri, "14");
        lab.xapi.vdiActivate(uri, "14"); // again on the same host: tolerated (§4.6, xen-api#5521)

        lab.xapi.vdiAttach(uri, "15"); // attach is not exclusive (migration attaches on both sides)
        StorageException refused = org.assertj.core.api.Assertions.catchThrowableOfType(StorageException.class,
                () -> lab.xapi.vdiActivate(uri, "15"));
        assertThat(refused).isNotNull();
        assertThat(refused.code()).isEqualTo("SR_BACKEND_FAILURE_24");
        assertThat(refused.error().params().get(0)).isEqualTo("VDIInUse");
        assertThat(refused.error().params().get(2)).contains("'14'").contains(v.key());
        lab.xapi.vdiActivateReadonly(uri, "15"); // read-only beside it is allowed

        lab.xapi.vdiDeactivate(uri, "14");
        lab.xapi.vdiDeactivate(uri, "15");
        lab.xapi.vdiDetach(uri, "14");
        lab.xapi.vdiDetach(uri, "15");
        assertThat(lab.blkifd("14")).isEmpty();
        assertThat(lab.blkifd("15")).isEmpty();
    }

    /**
     * xenopsd deactivates and detaches with domain "" when the guest is already gone (issue 15):
     * what the guest held is released, its blkifd stops, and another VM can activate the volume.
     */
    @Test
    void deactivateAndDetachWithTheEmptyDomainReleaseWhatTheGoneGuestHeld() throws Exception {
        Xapi.CreatedSr sr = lab.newSr("gone");
        String uri = lab.xapi.datapathUri(sr.sr(), lab.xapi.vdiCreate(sr.sr(), "system", DISK).key());
        lab.guest(31);
        lab.xapi.vdiAttach(uri, "31");
        lab.xapi.vdiActivate(uri, "31");
        ProcessHandle first = lab.blkifd("31").orElseThrow();

        lab.xapi.vdiDeactivate(uri, "");
        lab.xapi.vdiDetach(uri, "");
        first.onExit().get(30, TimeUnit.SECONDS);
        assertThat(lab.blkifd("31")).as("blkifd of the gone guest").isEmpty();

        lab.guest(32);
        lab.xapi.vdiAttach(uri, "32");
        lab.xapi.vdiActivate(uri, "32"); // refused with VDIInUse while domain 31's claim was kept
        lab.xapi.vdiDeactivate(uri, "32");
        lab.xapi.vdiDetach(uri, "32");
    }

    @Test
    void aKilledBlkifdIsRestartedByItsSupervisorAndRecoversItsDisks() throws Exception {
        Xapi.CreatedSr sr = lab.newSr("crash");
        String uriA = lab.xapi.datapathUri(sr.sr(), lab.xapi.vdiCreate(sr.sr(), "a", DISK).key());
        String uriB = lab.xapi.datapathUri(sr.sr(), lab.xapi.vdiCreate(sr.sr(), "b", DISK).key());
        SimGuest guest = lab.guest(16);
        AttachResult a = AttachResult.from(lab.xapi.vdiAttach(uriA, "16"));
        lab.xapi.vdiActivate(uriA, "16");
        ProcessHandle first = lab.blkifd("16").orElseThrow();
        new ProcessBuilder("kill", "-KILL", Long.toString(first.pid())).start().waitFor();
        first.onExit().get(10, TimeUnit.SECONDS);
        // Started again by its supervisor, before and without any datapath call (issue 18).
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (lab.blkifd("16").filter(p -> p.pid() != first.pid()).isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        ProcessHandle second = lab.blkifd("16").orElseThrow();
        assertThat(second.pid()).isNotEqualTo(first.pid());

        lab.xapi.vdiAttach(uriB, "16");
        assertThat(lab.blkifd("16").orElseThrow().pid()).as("the attach used the restarted blkifd").isEqualTo(second.pid());
        JsonNode disks = lab.status().get(0).get("status").get("disks");
        assertThat(disks).hasSize(2);
        assertThat(disks.findValuesAsText("state")).containsExactlyInAnyOrder("active", "attached");

        // The recovered disk serves the guest that plugs it now.
        var vbd = lab.plug(16, "xvda", a, false);
        var front = new org.spdksr.datapath.sim.blkfront.SimBlkfront(guest, vbd.devid(), FrontOptions.defaults());
        front.connect();
        LoadReport report = run(new LoadGenerator(front, LoadSpec.mixed(4, 300, SECTORS, 6)));
        assertThat(report.problems()).isEmpty();
        lab.xenopsd.unplugClean(vbd, java.time.Duration.ofSeconds(60));
        front.close();
        for (String uri : new String[] {uriA, uriB}) {
            lab.xapi.vdiDeactivate(uri, "16");
            lab.xapi.vdiDetach(uri, "16");
        }
        second.onExit().get(30, TimeUnit.SECONDS);
    }

    @Test
    void aNonPersistentDiskDropsTheGuestsWritesAtClose() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-io")),
                "qemu-io is not installed (apt-get install qemu-utils)");
        assertThat(lab.xapi.datapathQuery().features()).contains("NONPERSISTENT");
        Xapi.CreatedSr sr = lab.newSr("reset");
        Volume v = lab.xapi.vdiCreate(sr.sr(), "reset-on-boot", DISK);
        String uri = lab.xapi.datapathUri(sr.sr(), v.key());
        Path file = Disk.volumeFile(Path.of(sr.deviceConfig().get("path")), v.key());
        byte[] original = Disk.pattern(11, 65536);
        Disk.write(file, 0, original);
        String domain = "u0_np";

        lab.xapi.vdiEpochBegin(uri, false);
        AttachResult attached = AttachResult.from(lab.xapi.vdiAttach(uri, domain));
        lab.xapi.vdiActivate(uri, domain);
        qemuIo(qemuTarget(attached), "write -P 0x33 512 8k", "read -P 0x33 512 8k", "discard 32k 16k",
                "read -P 0 32k 16k", "flush");
        lab.xapi.vdiDeactivate(uri, domain);
        lab.xapi.vdiActivate(uri, domain); // the same epoch: the guest's writes are still there
        qemuIo(qemuTarget(attached), "read -P 0x33 512 8k", "read -P 0 32k 16k");
        lab.xapi.vdiDeactivate(uri, domain);
        lab.xapi.vdiDetach(uri, domain);
        assertThat(Disk.read(file, 0, original.length)).as("the volume was never written").isEqualTo(original);
        lab.xapi.vdiEpochEnd(uri);

        lab.xapi.vdiEpochBegin(uri, true); // a persistent epoch writes through
        lab.xapi.vdiAttach(uri, domain);
        lab.xapi.vdiActivate(uri, domain);
        qemuIo(qemuTarget(attached), "write -P 0x44 0 4k", "flush");
        lab.xapi.vdiDeactivate(uri, domain);
        lab.xapi.vdiDetach(uri, domain);
        byte[] expected = new byte[4096];
        Arrays.fill(expected, (byte) 0x44);
        assertThat(Disk.read(file, 0, 4096)).isEqualTo(expected);
        assertThat(Disk.read(file, 4096, 4096)).isEqualTo(Arrays.copyOfRange(original, 4096, 8192));
    }
}
