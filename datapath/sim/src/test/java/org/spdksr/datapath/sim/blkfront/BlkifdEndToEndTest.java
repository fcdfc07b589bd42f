package org.spdksr.datapath.sim.blkfront;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.spdksr.datapath.blkif.Abi;
import org.spdksr.datapath.blkifd.BackendFeatures;
import org.spdksr.datapath.blkifd.BlkifBackendService;
import org.spdksr.datapath.device.FileBlockDevice;
import org.spdksr.datapath.device.FileDeviceOptions;
import org.spdksr.datapath.sim.xenopsd.SimXenopsd;
import org.spdksr.datapath.sim.xenopsd.Vbd;
import org.spdksr.datapath.sim.xenopsd.VbdSpec;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.XenAccessConfig;
import org.spdksr.datapath.xen.XenAccessFactory;
import org.spdksr.datapath.xen.sim.SimDomain;
import org.spdksr.datapath.xen.sim.SimXenHost;

/**
 * The simulated frontend against the real blkifd backend on a file: plug as xenopsd does, the
 * whole handshake, a verified random load, then xapi's clean unplug with the frontend following.
 */
@Timeout(180)
class BlkifdEndToEndTest {
    private static final int GUEST = 6;
    private static final int DISK_SECTORS = 65536; // 32 MiB
    @TempDir
    Path root;
    private SimXenHost host;
    private XenAccess dom0;
    private SimDomain domain;
    private SimGuest guest;
    private FileBlockDevice device;
    private BlkifBackendService blkifd;

    @BeforeEach
    void setUp() throws Exception {
        host = SimXenHost.start(root.resolve("host"));
        host.createDomain(GUEST, 8192, 16384);
        dom0 = XenAccessFactory.open(XenAccessConfig.sim(root.resolve("host")));
        domain = SimDomain.attach(host.layout(), GUEST);
        guest = new SimGuest(domain, 16);
        Path file = root.resolve("disk.img");
        try (var ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE_NEW,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.truncate(DISK_SECTORS * 512L);
            ch.write(java.nio.ByteBuffer.allocate(1), DISK_SECTORS * 512L - 1);
        }
        device = FileBlockDevice.open(file, FileDeviceOptions.defaults());
        blkifd = new BlkifBackendService(dom0, new BackendFeatures(4, 4, 256, 1056));
    }

    @AfterEach
    void tearDown() throws Exception {
        blkifd.close();
        device.close();
        guest.close();
        domain.close();
        dom0.close();
        host.close();
    }

    static Stream<Arguments> frontends() {
        return Stream.of(
                Arguments.of("linux order 4, persistent, indirect", FrontOptions.defaults()),
                Arguments.of("stock linux", FrontOptions.stockLinux()),
                Arguments.of("windows x86_32 without protocol key",
                        FrontOptions.windows().withAbi(Abi.X86_32).withProtocolKey(false)),
                Arguments.of("4 queues, order 2, always indirect",
                        FrontOptions.defaults().withQueues(4).withRingOrder(2)
                                .withIndirect(FrontOptions.IndirectPolicy.ALWAYS)),
                Arguments.of("skip InitWait", FrontOptions.defaults().withWaitForInitWait(false)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("frontends")
    void verifiedLoadThenCleanUnplug(String name, FrontOptions options) throws Exception {
        SimXenopsd xenopsd = new SimXenopsd(dom0.xenstore());
        VbdSpec spec = VbdSpec.qdisk(GUEST, "xvda", false, device.toString(), Map.of());
        blkifd.serve(GUEST, spec.devid(), device, false);
        Vbd vbd = xenopsd.plug(spec);
        xenopsd.awaitHotplugConnected(vbd, Duration.ofSeconds(20));

        SimBlkfront front = new SimBlkfront(guest, vbd.devid(), options);
        BackendInfo info = front.connect();
        assertThat(info.sectors()).isEqualTo(DISK_SECTORS);
        assertThat(front.state()).isEqualTo(XenbusState.CONNECTED);

        LoadReport report = new LoadGenerator(front, LoadSpec.mixed(16, 2000, 8192, name.hashCode())).run();
        assertThat(report.problems()).as(name).isEmpty();
        assertThat(report.clean()).isTrue();
        assertThat(front.protocolViolations()).isEmpty();

        xenopsd.unplugClean(vbd, Duration.ofSeconds(30));
        assertThat(dom0.xenstore().readIfExists(vbd.backendPath())).isEmpty();
        blkifd.disks().values().forEach(d -> {
            try {
                d.finished().get(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new AssertionError(e);
            }
        });
        front.disconnection().get(20, TimeUnit.SECONDS);
        assertThat(front.connected()).isFalse();
        assertThat(front.state()).isEqualTo(XenbusState.UNKNOWN); // the frontend directory is gone
        assertThat(guest.pages().inUse()).as("rings and grant pools freed").isZero();
    }
}
