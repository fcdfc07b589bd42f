package org.spdksr.datapath.attach;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.spdksr.datapath.blkifd.daemon.BlkifdArgs;
import org.spdksr.datapath.blkifd.daemon.RunDirectory;

/**
 * The spdk-sr-blkifd@ unit runs the blkifd that {@link SystemdBlkifd} names: its ExecStart, with the
 * instance systemd gets from {@link SystemdBlkifd#unitName}, parses with blkifd's own argument
 * parser into the same domain and the datapath's default run directory. The escaping is checked
 * against the real systemd-escape where it is installed (systemd itself does not run here).
 */
class BlkifdUnitFileTest {
    private static final Path UNIT = Path.of("..", "packaging", "systemd", "spdk-sr-blkifd@.service");
    private static final List<String> DOMAINS = List.of("7", "0", "32752", "", "u0_vbd_0_xvdb", "u0-vbd_0_xvdb", "volumes", "..",
            "a/b", "é", "_61");

    @Test
    void execStartParsesIntoTheDomainAndTheDatapathsRunDirectory() throws Exception {
        List<String> execStart = execStart();
        assertThat(execStart.get(0)).isEqualTo(SystemdBlkifd.LAUNCHER);
        for (String domain : DOMAINS) {
            String unit = SystemdBlkifd.unitName(domain);
            String instance = unit.substring(SystemdBlkifd.TEMPLATE.length(), unit.length() - ".service".length());
            // %I is the unescaped instance (systemd.unit(5), "Specifiers").
            String unescaped = unescape(instance);
            List<String> argv = new ArrayList<>();
            for (String word : execStart.subList(1, execStart.size())) {
                assertThat(word).as("the unit uses %%I, the unescaped instance, not %%i").doesNotContain("%i");
                argv.add(word.replace("%I", unescaped));
            }
            BlkifdArgs args = BlkifdArgs.parse(argv).orElseThrow();
            assertThat(args.domain()).as("domain of %s", unit).isEqualTo(domain);
            assertThat(args.runDir()).isEqualTo(RunDirectory.from(Map.of()).root());
        }
    }

    @Test
    void theUnitRunsInVmSliceOnRealXenAndIsRestartedOnlyWhenKilled() throws IOException {
        String text = Files.readString(UNIT);
        // on-abnormal: a signal that killed it (a crash), never an exit of its own (issue 18).
        assertThat(text).contains("\nSlice=vm.slice\n", "\nEnvironment=SPDKSR_XEN_MODE=linux\n",
                "\nRestart=on-abnormal\n", "\nStartLimitBurst=5\n", "\nSuccessExitStatus=143\n");
        assertThat(text).doesNotContain("\nRestart=no\n", "\nRestart=always\n");
        assertThat(text).doesNotContain("[Install]");
    }

    @Test
    void escapingIsSystemdEscapes() throws Exception {
        assertThat(SystemdBlkifd.escape("u0-vbd_0_xvdb")).isEqualTo("u0\\x2dvbd_0_xvdb");
        assertThat(SystemdBlkifd.escape("_")).isEqualTo("_");
        assertThat(SystemdBlkifd.escape(".a.b")).isEqualTo("\\x2ea.b");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/systemd-escape")), "systemd-escape is not installed");
        for (String s : List.of("u0-vbd_0_xvdb", "7", "_2e2e", "a/b", ".x", "a+b c", "é:x", "x\\y")) {
            assertThat(SystemdBlkifd.escape(s)).as("escape of '%s'", s).isEqualTo(systemdEscape(s));
        }
    }

    /** The ExecStart line, split into words as systemd does for a line without quotes. */
    private static List<String> execStart() throws IOException {
        List<String> lines = Files.readAllLines(UNIT).stream().filter(l -> l.startsWith("ExecStart=")).toList();
        assertThat(lines).as("ExecStart lines of %s", UNIT).hasSize(1);
        String command = lines.get(0).substring("ExecStart=".length());
        assertThat(command).as("no quoting, so splitting on blanks is systemd's split").doesNotContain("\"", "'", "\\");
        return Arrays.asList(command.trim().split("\\s+"));
    }

    /** systemd's unescaping of an instance, with the real tool if it is installed. */
    private static String unescape(String instance) throws Exception {
        if (Files.isExecutable(Path.of("/usr/bin/systemd-escape"))) {
            return run("/usr/bin/systemd-escape", "--unescape", "--", instance);
        }
        StringBuilder out = new StringBuilder();
        byte[] bytes = new byte[instance.length()];
        int n = 0;
        for (int i = 0; i < instance.length(); i++) {
            if (instance.startsWith("\\x", i)) {
                bytes[n++] = (byte) Integer.parseInt(instance.substring(i + 2, i + 4), 16);
                i += 3;
            } else {
                bytes[n++] = (byte) (instance.charAt(i) == '-' ? '/' : instance.charAt(i));
            }
        }
        return out.append(new String(bytes, 0, n, StandardCharsets.UTF_8)).toString();
    }

    private static String systemdEscape(String s) throws Exception {
        return run("/usr/bin/systemd-escape", "--", s);
    }

    private static String run(String... argv) throws Exception {
        Process p = new ProcessBuilder(argv).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as("%s: %s", List.of(argv), out).isZero();
        return out.endsWith("\n") ? out.substring(0, out.length() - 1) : out;
    }
}
