package org.spdksr.datapath.attach;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.spdksr.datapath.blkifd.daemon.RunDirectory;

/**
 * The choice between systemd and a detached child, and the systemctl command lines the systemd
 * launch runs. systemd does not run on the test machines, so the launch itself through systemd is
 * not exercised here; the direct launch is, by every attach test and the end-to-end suites.
 */
class BlkifdLaunchTest {
    private static final Path SYSTEMCTL = Path.of("/usr/bin/systemctl");
    private static final BlkifdLaunch.Host WITH_SYSTEMD = new BlkifdLaunch.Host(Optional.of(SYSTEMCTL));
    private static final BlkifdLaunch.Host WITHOUT = new BlkifdLaunch.Host(Optional.empty());
    private static final RunDirectory HOST_RUN = RunDirectory.from(Map.of());
    private static final RunDirectory TEST_RUN = new RunDirectory(Path.of("/tmp/spdk-sr-test/run"));

    @Test
    void autoUsesSystemdOnlyWhereItRunsAndItsUnitWouldRunThisBlkifd() throws IOException {
        assertThat(BlkifdLaunch.choose(Map.of(), HOST_RUN, WITH_SYSTEMD)).isEqualTo(BlkifdLaunch.SYSTEMD);
        assertThat(BlkifdLaunch.choose(Map.of("SPDK_SR_BLKIFD_LAUNCH", " Auto "), HOST_RUN, WITH_SYSTEMD))
                .isEqualTo(BlkifdLaunch.SYSTEMD);
        assertThat(BlkifdLaunch.choose(Map.of("SPDKSR_XEN_MODE", "linux"), HOST_RUN, WITH_SYSTEMD))
                .isEqualTo(BlkifdLaunch.SYSTEMD);
        assertThat(BlkifdLaunch.choose(Map.of(), HOST_RUN, WITHOUT)).isEqualTo(BlkifdLaunch.DIRECT);
        // The demo and the tests on a machine where systemd runs: their own run directory, simulated Xen.
        assertThat(BlkifdLaunch.choose(Map.of(), TEST_RUN, WITH_SYSTEMD)).isEqualTo(BlkifdLaunch.DIRECT);
        assertThat(BlkifdLaunch.choose(Map.of("SPDKSR_XEN_MODE", "sim"), HOST_RUN, WITH_SYSTEMD))
                .isEqualTo(BlkifdLaunch.DIRECT);
        assertThat(BlkifdLaunch.choose(Map.of("SPDK_SR_BLKIFD", "/opt/debug-blkifd"), HOST_RUN, WITH_SYSTEMD))
                .isEqualTo(BlkifdLaunch.DIRECT);
    }

    @Test
    void explicitSettingsWinOrSayWhyTheyCannot() throws IOException {
        assertThat(BlkifdLaunch.choose(Map.of("SPDK_SR_BLKIFD_LAUNCH", "direct"), HOST_RUN, WITH_SYSTEMD))
                .isEqualTo(BlkifdLaunch.DIRECT);
        assertThat(BlkifdLaunch.choose(Map.of("SPDK_SR_BLKIFD_LAUNCH", "systemd"), HOST_RUN, WITH_SYSTEMD))
                .isEqualTo(BlkifdLaunch.SYSTEMD);
        assertThatThrownBy(() -> BlkifdLaunch.choose(Map.of("SPDK_SR_BLKIFD_LAUNCH", "systemd"), HOST_RUN, WITHOUT))
                .hasMessageContaining("systemd does not run on this host").hasMessageContaining("spdk-sr.conf");
        assertThatThrownBy(() -> BlkifdLaunch.choose(Map.of("SPDK_SR_BLKIFD_LAUNCH", "systemd"), TEST_RUN, WITH_SYSTEMD))
                .hasMessageContaining("/tmp/spdk-sr-test/run").hasMessageContaining(RunDirectory.DEFAULT_ROOT);
        assertThatThrownBy(() -> BlkifdLaunch.choose(Map.of("SPDK_SR_BLKIFD_LAUNCH", "systemctl"), HOST_RUN, WITHOUT))
                .hasMessageContaining("'systemctl' is not systemd, direct or auto");
    }

    @Test
    void systemctlCommandLinesNameTheDomainsUnit() {
        SystemdBlkifd systemd = new SystemdBlkifd(SYSTEMCTL);
        assertThat(systemd.command("start", "7")).containsExactly("/usr/bin/systemctl", "start", "spdk-sr-blkifd@7.service");
        assertThat(systemd.command("stop", "u0_vbd_0_xvdb"))
                .containsExactly("/usr/bin/systemctl", "stop", "spdk-sr-blkifd@u0_vbd_0_xvdb.service");
        assertThat(systemd.command("stop", "a-b")).containsExactly("/usr/bin/systemctl", "stop", "spdk-sr-blkifd@a\\x2db.service");
        assertThat(systemd.command("is-active", "")).containsExactly("/usr/bin/systemctl", "is-active", "spdk-sr-blkifd@_.service");
        // Different domains never share a unit, whatever their names.
        List<String> domains = List.of("", "_", "0", "volumes", "_766f6c756d6573", "a-b", "a_2db");
        assertThat(domains.stream().map(SystemdBlkifd::unitName).distinct()).hasSize(domains.size());
    }
}
