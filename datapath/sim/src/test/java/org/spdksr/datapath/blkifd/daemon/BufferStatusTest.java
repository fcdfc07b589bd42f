package org.spdksr.datapath.blkifd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.blkifd.BackendFeatures;
import org.spdksr.datapath.blkifd.BlkifBackendService;
import org.spdksr.datapath.blkifd.BufferSettings;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.XenAccessConfig;
import org.spdksr.datapath.xen.XenAccessFactory;
import org.spdksr.datapath.xen.sim.SimXenHost;
import picocli.CommandLine;

/** Issue 18: the buffer budget is a setting, and {@code spdk-sr status} shows it with its use. */
class BufferStatusTest {
    @TempDir
    Path dir;

    @Test
    void theBudgetIsASettingInMibWithADefaultAndBadValuesNameTheSettingAndTheFile() {
        assertThat(BufferSettings.budgetBytes(Map.of())).isEqualTo(64L << 20);
        assertThat(BufferSettings.budgetBytes(Map.of(BufferSettings.BUFFER_MIB, " 256 "))).isEqualTo(256L << 20);
        assertThatThrownBy(() -> BufferSettings.budgetBytes(Map.of(BufferSettings.BUFFER_MIB, "64M")))
                .hasMessageContaining("SPDK_SR_BLKIFD_BUFFER_MIB=\"64M\"").hasMessageContaining("/etc/spdk-sr/spdk-sr.conf");
        assertThatThrownBy(() -> BufferSettings.budgetBytes(Map.of(BufferSettings.BUFFER_MIB, "0")))
                .hasMessageContaining("outside 1..65536");
    }

    @Test
    void statusShowsTheBudgetWhatIsInUseAndTheWaits() throws Exception {
        try (SimXenHost host = SimXenHost.start(dir.resolve("host"));
                XenAccess xen = XenAccessFactory.open(XenAccessConfig.sim(dir.resolve("host")));
                BlkifBackendService rings = new BlkifBackendService(xen, new BackendFeatures(4, 2, 256, 0), 8L << 20)) {
            RunDirectory run = new RunDirectory(dir.resolve("run"));
            Files.createDirectories(run.domainDir("7"));
            Blkifd blkifd = new Blkifd("7", run, VolumeDevices.fromEnvironment(Map.of()), xen.xenstore(), rings, 7, () -> { });
            try (ControlServer control = ControlServer.start(run.controlSocket("7"), blkifd, ControlClient.mapper(), "test")) {
                String text = status(run, false);
                assertThat(text).contains("buffer memory: 0.0 of 8.0 MiB in use, 0.0 MiB pooled, peak 0.0 MiB;"
                        + " rings waited for memory 0 times");
                String json = status(run, true);
                assertThat(json).contains("\"limitBytes\" : 8388608").contains("\"inUseBytes\" : 0")
                        .contains("\"waits\" : 0");
            } finally {
                blkifd.close();
            }
        }
    }

    private static String status(RunDirectory run, boolean json) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        StatusCommand command = new StatusCommand(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        CommandLine cli = new CommandLine(command);
        int exit = json ? cli.execute("--json", "--run-dir", run.root().toString())
                : cli.execute("--run-dir", run.root().toString());
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(exit).as(out).isZero();
        return out;
    }
}
