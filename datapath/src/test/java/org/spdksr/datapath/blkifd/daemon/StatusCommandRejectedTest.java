package org.spdksr.datapath.blkifd.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.blkifd.QueueCounters;
import org.spdksr.datapath.blkifd.VbdReport;
import picocli.CommandLine;

/**
 * Issue 18: {@code spdk-sr status} shows requests refused as malformed (REJECTED) apart from
 * failed I/O (ERRORS), and {@code --json} carries how many guest-caused log lines were held back;
 * through the real control socket and its JSON, from a blkifd answering {@code status}.
 */
class StatusCommandRejectedTest {
    @TempDir
    Path runRoot;

    private String status(boolean json) throws Exception {
        RunDirectory run = new RunDirectory(runRoot);
        Files.createDirectories(run.domainDir("7"));
        QueueCounters.Snapshot counters = new QueueCounters.Snapshot(5, 6, 1, 0, 20480, 24576, 3, 19_990, 12);
        VbdReport vbd = new VbdReport("vbd 7/51712", "CONNECTED", 2, 1, "x86_64-abi", false, counters, 19_980);
        DaemonStatus answer = new DaemonStatus("7", 4242, 0, List.of(new DaemonStatus.DiskStatus("disk-1",
                "file:///srv/v.img", "/srv/v.img", "active", false, false, "", "", List.of(vbd))), null);
        BlkifdControl blkifd = new BlkifdControl() {
            @Override
            public DaemonStatus reconcile() {
                return answer;
            }

            @Override
            public DaemonStatus status() {
                return answer;
            }

            @Override
            public DaemonStatus shutdown() {
                return answer;
            }
        };
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ControlServer server = ControlServer.start(run.controlSocket("7"), blkifd, ControlClient.mapper(), "test")) {
            String[] args = json ? new String[] {"--run-dir", runRoot.toString(), "--json"}
                    : new String[] {"--run-dir", runRoot.toString()};
            int rc = new CommandLine(new StatusCommand(new PrintStream(out, true, StandardCharsets.UTF_8))).execute(args);
            assertThat(rc).as("exit status; output:\n" + out).isZero();
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void rejectedRequestsHaveTheirOwnColumn() throws Exception {
        List<String> lines = status(false).lines().toList();
        assertThat(lines).hasSize(2);
        List<String> header = List.of(lines.get(0).trim().split("\\s+"));
        List<String> row = List.of(lines.get(1).trim().split("\\s+"));
        assertThat(header).contains("ERRORS", "REJECTED");
        assertThat(row.get(header.indexOf("ERRORS"))).as("ERRORS: failed I/O only").isEqualTo("3");
        assertThat(row.get(header.indexOf("REJECTED"))).isEqualTo("19990");
    }

    @Test
    void theJsonCarriesTheRejectionsAndTheLogLinesHeldBack() throws Exception {
        String json = status(true);
        assertThat(json).contains("\"rejected\" : 19990").contains("\"guestLogLinesHeldBack\" : 19980");
    }
}
