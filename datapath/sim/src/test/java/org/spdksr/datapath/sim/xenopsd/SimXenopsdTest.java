package org.spdksr.datapath.sim.xenopsd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.xen.sim.SimDomain;
import org.spdksr.datapath.xen.sim.SimXenHost;
import org.spdksr.datapath.xen.xenstore.NodePermissions;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreException;
import org.spdksr.datapath.xen.xenstore.XsAccess;
import org.spdksr.datapath.xen.xenstore.XsPermission;

/** The VBD nodes as xenopsd writes them for qdisk (smapiv3.md §7.2, blkif.md §5.3, §5.7), against the simulated xenstored. */
@Timeout(60)
class SimXenopsdTest {
    private static final int GUEST = 7;
    @TempDir
    Path root;
    private SimXenHost host;
    private Xenstore dom0;
    private SimDomain guest;
    private SimXenopsd xenopsd;

    @BeforeEach
    void setUp() throws Exception {
        host = SimXenHost.start(root);
        host.createDomain(GUEST, 16, 64);
        dom0 = host.connectDom0();
        guest = SimDomain.attach(host.layout(), GUEST);
        xenopsd = new SimXenopsd(dom0);
    }

    @AfterEach
    void tearDown() throws Exception {
        guest.close();
        dom0.close();
        host.close();
    }

    @Test
    void devidsFollowTheXenNumbering() {
        assertThat(DeviceNumber.of("xvda")).isEqualTo(51712);
        assertThat(DeviceNumber.of("xvdb")).isEqualTo(51728);
        assertThat(DeviceNumber.of("xvda1")).isEqualTo(51713);
        assertThat(DeviceNumber.of("xvdq")).isEqualTo((1 << 28) | (16 << 8));
        assertThat(DeviceNumber.of("hda")).isEqualTo(768);
        assertThat(DeviceNumber.of("hdc")).isEqualTo(22 << 8);
        assertThat(DeviceNumber.of("sda")).isEqualTo(2048);
        assertThat(DeviceNumber.of("51760")).isEqualTo(51760);
        assertThatThrownBy(() -> DeviceNumber.of("vda")).hasMessageContaining("vda");
    }

    @Test
    void plugWritesBothDirectoriesWithToolstackPermissions() throws Exception {
        Vbd vbd = xenopsd.plug(VbdSpec.qdisk(GUEST, "xvda", false, "/dev/sm/vdi1",
                Map.of("polling-duration", "8000")));
        assertThat(vbd.backendPath()).isEqualTo("/local/domain/0/backend/qdisk/7/51712");
        assertThat(vbd.frontendPath()).isEqualTo("/local/domain/7/device/vbd/51712");
        String b = vbd.backendPath() + "/";
        assertThat(read(b + "frontend")).isEqualTo(vbd.frontendPath());
        assertThat(read(b + "frontend-id")).isEqualTo("7");
        assertThat(read(b + "online")).isEqualTo("1");
        assertThat(read(b + "removable")).isEqualTo("0");
        assertThat(read(b + "state")).isEqualTo("1");
        assertThat(read(b + "dev")).isEqualTo("xvda");
        assertThat(read(b + "type")).isEqualTo("phy");
        assertThat(read(b + "mode")).isEqualTo("w");
        assertThat(read(b + "params")).isEqualTo("/dev/sm/vdi1");
        assertThat(read(b + "sm-data/polling-duration")).isEqualTo("8000");
        assertThat(read(b + "sm-data/backend-kind")).isEqualTo("qdisk");
        String f = vbd.frontendPath() + "/";
        assertThat(read(f + "backend")).isEqualTo(vbd.backendPath());
        assertThat(read(f + "backend-id")).isEqualTo("0");
        assertThat(read(f + "state")).isEqualTo("1");
        assertThat(read(f + "virtual-device")).isEqualTo("51712");
        assertThat(read(f + "device-type")).isEqualTo("disk");

        NodePermissions backendPerms = NodePermissions.of(new XsPermission(0, XsAccess.NONE),
                new XsPermission(GUEST, XsAccess.READ));
        assertThat(dom0.getPerms(vbd.backendPath())).isEqualTo(backendPerms);
        assertThat(dom0.getPerms(b + "state")).isEqualTo(backendPerms);
        assertThat(dom0.getPerms(vbd.frontendPath())).isEqualTo(NodePermissions.of(
                new XsPermission(GUEST, XsAccess.NONE), new XsPermission(0, XsAccess.READ)));

        // The guest reads the backend but cannot write it, and owns its own directory.
        assertThat(guest.xenstore().readString(b + "state")).isEqualTo("1");
        assertThatThrownBy(() -> guest.xenstore().write(b + "state", "4")).isInstanceOf(XenstoreException.class);
        guest.xenstore().write(f + "state", "3");
        guest.xenstore().write(f + "ring-ref", "8");
        assertThat(read(f + "ring-ref")).isEqualTo("8");
    }

    @Test
    void readOnlyDisksGetModeR() throws Exception {
        Vbd vbd = xenopsd.plug(VbdSpec.qdisk(GUEST, "xvdb", true, "/dev/x", Map.of()));
        assertThat(read(vbd.backendPath() + "/mode")).isEqualTo("r");
    }

    @Test
    void hotplugWaitEndsWhenTheBackendSaysConnected() throws Exception {
        Vbd vbd = xenopsd.plug(VbdSpec.qdisk(GUEST, "xvda", false, "/dev/x", Map.of()));
        assertThatThrownBy(() -> xenopsd.awaitHotplugConnected(vbd, Duration.ofMillis(300)))
                .isInstanceOf(TimeoutException.class).hasMessageContaining("hotplug-status");
        CompletableFuture<Void> wait = CompletableFuture.runAsync(() -> {
            try {
                xenopsd.awaitHotplugConnected(vbd, Duration.ofSeconds(20));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        Thread.sleep(100);
        dom0.write(vbd.backendPath() + "/hotplug-status", "connected");
        wait.get();
    }

    @Test
    void cleanUnplugWaitsForFrontendClosedAndHotplugGoneThenRemovesBoth() throws Exception {
        Vbd vbd = xenopsd.plug(VbdSpec.qdisk(GUEST, "xvda", false, "/dev/x", Map.of()));
        dom0.write(vbd.backendPath() + "/hotplug-status", "connected");
        dom0.write(vbd.backendPath() + "/state", "4");
        CompletableFuture<Void> unplug = CompletableFuture.runAsync(() -> {
            try {
                xenopsd.unplugClean(vbd, Duration.ofSeconds(20));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
        waitFor(vbd.backendPath() + "/state", "5");
        assertThat(read(vbd.backendPath() + "/online")).isEqualTo("0");
        guest.xenstore().write(vbd.frontendPath() + "/state", "6");
        Thread.sleep(200);
        assertThat(unplug).isNotDone();
        dom0.rm(vbd.backendPath() + "/hotplug-status");
        unplug.get();
        assertThat(dom0.readIfExists(vbd.backendPath())).isEmpty();
        assertThat(dom0.readIfExists(vbd.frontendPath())).isEmpty();
    }

    @Test
    void hardUnplugSetsOfflineAndDeletesTheFrontend() throws Exception {
        Vbd vbd = xenopsd.plug(VbdSpec.qdisk(GUEST, "xvda", false, "/dev/x", Map.of()));
        xenopsd.unplugHard(vbd);
        assertThat(read(vbd.backendPath() + "/online")).isEqualTo("0");
        assertThat(dom0.readIfExists(vbd.frontendPath())).isEmpty();
        xenopsd.awaitHotplugRemoved(vbd, Duration.ofSeconds(1));
        xenopsd.removeTrees(vbd);
        assertThat(dom0.readIfExists(vbd.backendPath())).isEmpty();
    }

    private String read(String path) throws Exception {
        return dom0.readString(path);
    }

    private void waitFor(String path, String value) throws Exception {
        org.spdksr.datapath.sim.blkfront.XenstoreWaits.awaitValue(dom0, path, value, Duration.ofSeconds(20));
    }
}
