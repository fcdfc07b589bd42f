package org.spdksr.datapath.nbd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.device.FileBlockDevice;
import org.spdksr.datapath.device.FileDeviceOptions;

/**
 * Interoperability with the NBD clients dom0 consumers use: qemu-io (package qemu-utils, the
 * block layer of qemu) and nbdinfo (package libnbd-bin). A test skips only when its binary is
 * not installed.
 */
class NbdInteropTest {
    private static final long SIZE = 8 << 20;

    @TempDir
    Path dir;
    private Path file;
    private FileBlockDevice device;
    private NbdServer server;
    private Path socket;

    @BeforeEach
    void start() throws Exception {
        file = dir.resolve("disk.raw");
        try (RandomAccessFile raf = new RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(SIZE);
        }
        device = FileBlockDevice.open(file, FileDeviceOptions.defaults());
        socket = dir.resolve("nbd.sock");
        server = NbdServer.start(socket, NbdServerConfig.defaults(),
                List.of(new NbdExport("disk0", "test disk", device, false, NbdExport.Ownership.SERVER)));
    }

    @AfterEach
    void stop() {
        server.close();
    }

    private String uri(String export) {
        return "nbd+unix:///" + export + "?socket=" + socket;
    }

    record Result(int exit, String output) {
    }

    static Result run(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("%s finished", command[0]).isTrue();
        return new Result(p.exitValue(), out);
    }

    static void requireTool(String tool, String pkg) {
        boolean found = Arrays.stream(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .anyMatch(d -> Files.isExecutable(Path.of(d, tool)));
        assumeTrue(found, "skipped: " + tool + " is not installed (apt-get install " + pkg + ")");
    }

    private static Result qemuIo(String uri, String... commands) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("qemu-io", "-f", "raw", uri));
        for (String c : commands) {
            cmd.add("-c");
            cmd.add(c);
        }
        return run(cmd.toArray(String[]::new));
    }

    private static void assertClean(Result r) {
        assertThat(r.exit()).as("exit status; output:\n%s", r.output()).isZero();
        assertThat(r.output()).doesNotContainIgnoringCase("fail").doesNotContainIgnoringCase("error");
    }

    @Test
    void qemuIoWritesReadsFlushesAndDiscards() throws Exception {
        requireTool("qemu-io", "qemu-utils");
        Result r = qemuIo(uri("disk0"), "write -P 0xab 0 64k", "read -P 0xab 0 64k", "flush",
                "write -P 0xcd 1M 1M", "write -f -P 0xef 4M 64k", "read -P 0xcd 1M 1M", "discard 1M 512k",
                "read -P 0 1M 512k", "read -P 0xcd 1536k 512k", "read -P 0 8128k 64k");
        assertClean(r);
        byte[] content = Files.readAllBytes(file);
        assertThat(Arrays.copyOfRange(content, 0, 65536)).containsOnly((byte) 0xab);
        assertThat(Arrays.copyOfRange(content, 1 << 20, (1 << 20) + (512 << 10))).containsOnly(0);
        assertThat(Arrays.copyOfRange(content, (1 << 20) + (512 << 10), 2 << 20)).containsOnly((byte) 0xcd);
        assertThat(Arrays.copyOfRange(content, 4 << 20, (4 << 20) + 65536)).containsOnly((byte) 0xef);
        assertThat(Files.size(file)).isEqualTo(SIZE);
    }

    @Test
    void qemuIoSeesTheDefaultExportAndLargeRequests() throws Exception {
        requireTool("qemu-io", "qemu-utils");
        // an empty export name means the default export: the only one this server has
        Result r = qemuIo("nbd+unix://?socket=" + socket, "write -P 0x11 0 8M", "read -P 0x11 0 8M");
        assertClean(r);
        assertThat(Files.readAllBytes(file)).containsOnly((byte) 0x11);
    }

    @Test
    void qemuIoRefusesAnUnknownExport() throws Exception {
        requireTool("qemu-io", "qemu-utils");
        Result r = qemuIo(uri("nosuchdisk"), "read 0 512");
        assertThat(r.exit()).isNotZero();
        assertThat(r.output()).contains("nosuchdisk");
    }

    @Test
    void severalQemuIoClientsAtOnce() throws Exception {
        requireTool("qemu-io", "qemu-utils");
        List<Process> clients = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            String pattern = String.format("0x%02x", 0x21 + i);
            String at = i + "M";
            clients.add(new ProcessBuilder("qemu-io", "-f", "raw", uri("disk0"), "-c", "write -P " + pattern + " " + at + " 1M",
                    "-c", "read -P " + pattern + " " + at + " 1M").redirectErrorStream(true).start());
        }
        for (Process p : clients) {
            String out = new String(p.getInputStream().readAllBytes());
            assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertClean(new Result(p.exitValue(), out));
        }
        byte[] content = Files.readAllBytes(file);
        for (int i = 0; i < 4; i++) {
            assertThat(Arrays.copyOfRange(content, i << 20, (i + 1) << 20)).containsOnly((byte) (0x21 + i));
        }
    }

    @Test
    void nbdinfoReportsSizeAndBlockSizes() throws Exception {
        requireTool("nbdinfo", "libnbd-bin");
        Result r = run("nbdinfo", uri("disk0"));
        assertThat(r.exit()).as("nbdinfo output:\n%s", r.output()).isZero();
        assertThat(r.output()).contains("export-size: " + SIZE)
                .containsPattern("block_size_minimum: 512\\b")
                .containsPattern("block_size_preferred: 4096\\b")
                .containsPattern("block_size_maximum: " + (32 << 20) + "\\b")
                .contains("can_flush: true").contains("can_fua: true").contains("can_trim: true")
                .contains("can_multi_conn: true").contains("is_read_only: false")
                .contains("description: test disk");
    }

    @Test
    void nbdinfoListsExports() throws Exception {
        requireTool("nbdinfo", "libnbd-bin");
        server.addExport(NbdExport.shared("disk1", new org.spdksr.datapath.device.NullBlockDevice(1 << 20)));
        Result r = run("nbdinfo", "--list", "nbd+unix://?socket=" + socket);
        assertThat(r.exit()).as("nbdinfo output:\n%s", r.output()).isZero();
        assertThat(r.output()).contains("export=\"disk0\"").contains("export=\"disk1\"").contains("export-size: 1048576");
    }
}
