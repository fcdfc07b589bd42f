package org.spdksr.datapath.blkifd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
import org.spdksr.datapath.device.FileBlockDevice;
import org.spdksr.datapath.device.FileDeviceOptions;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.LoadGenerator;
import org.spdksr.datapath.sim.blkfront.LoadReport;
import org.spdksr.datapath.sim.blkfront.LoadSpec;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;
import org.spdksr.datapath.sim.blkfront.SimGuest;
import org.spdksr.datapath.sim.xenopsd.SimXenopsd;
import org.spdksr.datapath.sim.xenopsd.Vbd;
import org.spdksr.datapath.sim.xenopsd.VbdSpec;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.XenAccessConfig;
import org.spdksr.datapath.xen.XenAccessFactory;
import org.spdksr.datapath.xen.sim.SimDomain;
import org.spdksr.datapath.xen.sim.SimXenHost;

/** A disk served to a guest ring and, at the same time, to a real NBD client (qemu-io) in dom0. */
@Timeout(180)
class DiskServiceNbdTest {
    private static final int GUEST = 9;
    private static final int SECTORS = 65536; // 32 MiB; the guest loads the first half, qemu-io the second
    private static final int HALF = SECTORS / 2;

    @TempDir
    Path root;
    private SimXenHost host;
    private XenAccess dom0;
    private SimDomain domain;
    private SimGuest guest;
    private BlkifBackendService blkifd;
    private DiskService disk;

    @BeforeEach
    void setUp() throws Exception {
        host = SimXenHost.start(root.resolve("host"));
        host.createDomain(GUEST, 8192, 16384);
        dom0 = XenAccessFactory.open(XenAccessConfig.sim(root.resolve("host")));
        domain = SimDomain.attach(host.layout(), GUEST);
        guest = new SimGuest(domain, 16);
        Path file = root.resolve("disk.raw");
        try (java.io.RandomAccessFile raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(SECTORS * 512L); // sparse; FileChannel.truncate would only shrink
        }
        blkifd = new BlkifBackendService(dom0, new BackendFeatures(4, 2, 256, 1056));
        disk = DiskService.start(blkifd, new DiskService.DiskSpec(GUEST, VbdSpec.qdisk(GUEST, "xvda", false, "", Map.of())
                .devid(), FileBlockDevice.open(file, FileDeviceOptions.defaults()), false, "xvda", root.resolve("nbd.sock")));
    }

    @AfterEach
    void tearDown() throws Exception {
        disk.close();
        blkifd.close();
        guest.close();
        domain.close();
        dom0.close();
        host.close();
    }

    @Test
    void qemuIoReadsAndWritesWhileTheGuestRingIsBusy() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/qemu-io")), "qemu-io is not installed (apt-get install qemu-utils)");
        assertThat(disk.nbdUri()).matches("nbd:unix:[^:]+:exportname=xvda");
        SimXenopsd xenopsd = new SimXenopsd(dom0.xenstore());
        Vbd vbd = xenopsd.plug(VbdSpec.qdisk(GUEST, "xvda", false, disk.nbdUri(), Map.of()));
        xenopsd.awaitHotplugConnected(vbd, Duration.ofSeconds(20));
        SimBlkfront front = new SimBlkfront(guest, vbd.devid(), FrontOptions.defaults().withQueues(2));
        front.connect();

        LoadGenerator load = new LoadGenerator(front, new LoadSpec(8, 3000, Duration.ofMinutes(2), 0, HALF, 1, 128,
                45, 45, 5, 5, false, 42));
        CompletableFuture<LoadReport> guestLoad = CompletableFuture.supplyAsync(() -> {
            try {
                return load.run();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
        });
        String nbd = "nbd+unix:///xvda?socket=" + root.resolve("nbd.sock");
        long base = HALF * 512L;
        for (int round = 0; round < 4 && !guestLoad.isDone(); round++) {
            long offset = base + round * (1L << 20);
            String pattern = "0x" + Integer.toHexString(0xa0 + round);
            String out = qemuIo(nbd, "write -P " + pattern + " " + offset + " 1M", "read -P " + pattern + " " + offset + " 1M",
                    "flush");
            assertThat(out).doesNotContain("Pattern verification failed").doesNotContain("error");
        }
        LoadReport report = guestLoad.get(150, TimeUnit.SECONDS);
        assertThat(report.problems()).isEmpty();
        assertThat(report.clean()).isTrue();

        // What one side wrote, the other reads.
        byte[] fromNbd = front.read(HALF, 4096).get(30, TimeUnit.SECONDS).data();
        byte[] expected = new byte[4096];
        Arrays.fill(expected, (byte) 0xa0);
        assertThat(fromNbd).isEqualTo(expected);
        byte[] fromGuest = new byte[8192];
        Arrays.fill(fromGuest, (byte) 0x5c);
        assertThat(front.write(HALF + 8 * 2048, fromGuest).get(30, TimeUnit.SECONDS).ok()).isTrue();
        assertThat(qemuIo(nbd, "read -P 0x5c " + (base + 8L * 2048 * 512) + " 8k")).doesNotContain("Pattern verification failed");
        xenopsd.unplugClean(vbd, Duration.ofSeconds(30));
    }

    private static String qemuIo(String target, String... commands) throws IOException, InterruptedException {
        List<String> argv = new java.util.ArrayList<>(List.of("qemu-io", "-f", "raw", target));
        for (String c : commands) {
            argv.add("-c");
            argv.add(c);
        }
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }
}
