package org.spdksr.datapath.xen.xenstore;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.xen.sim.xenstore.SimXenstoreServer;

/**
 * The Debian {@code xenstore-utils} commands (libxenstore underneath) talk to the simulated server
 * through XENSTORED_PATH: evidence that the simulation speaks the real wire protocol.
 * CI installs the package; elsewhere the test is skipped when the commands are missing.
 */
@Timeout(60)
class XenstoreUtilsInteropTest {
    @TempDir
    Path dir;
    private SimXenstoreServer server;
    private Xenstore xs;

    private record Result(int exitCode, String stdout, String stderr) {
    }

    @BeforeEach
    void setUp() throws IOException {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/xenstore-read")),
                "xenstore-utils is not installed (apt-get install -y xenstore-utils); skipping the interop test");
        server = SimXenstoreServer.start(dir.resolve("xs"));
        xs = XenstoreClient.connectSocket(server.socket());
    }

    @AfterEach
    void tearDown() throws IOException {
        if (xs != null) {
            xs.close();
        }
        if (server != null) {
            server.close();
        }
    }

    private Result run(String... command) throws IOException, InterruptedException {
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().put("XENSTORED_PATH", server.socket().toString());
        Path out = dir.resolve("out");
        Path err = dir.resolve("err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError(String.join(" ", command) + " did not finish");
        }
        return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                Files.readString(err, StandardCharsets.UTF_8));
    }

    @Test
    void xenstoreWriteIsSeenByTheClient() throws Exception {
        Result r = run("xenstore-write", "/vm/one", "hello world", "/vm/two", "2");
        assertThat(r.exitCode()).as(r.stderr()).isZero();
        assertThat(xs.readString("/vm/one")).isEqualTo("hello world");
        assertThat(xs.readString("/vm/two")).isEqualTo("2");
    }

    @Test
    void clientWritesAreSeenByReadListAndLs() throws Exception {
        xs.write("/vm/a", "alpha");
        xs.write("/vm/b/c", "gamma");
        assertThat(run("xenstore-read", "/vm/a").stdout()).isEqualTo("alpha\n");
        assertThat(run("xenstore-list", "/vm").stdout().lines().toList()).containsExactly("a", "b");
        String ls = run("xenstore-ls", "/vm").stdout();
        assertThat(ls).contains("a = \"alpha\"").contains("c = \"gamma\"");
        Result missing = run("xenstore-read", "/vm/none");
        assertThat(missing.exitCode()).isNotZero();
    }

    @Test
    void chmodAndRmGoThroughTheServer() throws Exception {
        xs.write("/vm/p", "x");
        assertThat(run("xenstore-chmod", "/vm/p", "r5", "w6").exitCode()).isZero();
        assertThat(xs.getPerms("/vm/p")).isEqualTo(NodePermissions.of(new XsPermission(5, XsAccess.READ),
                new XsPermission(6, XsAccess.WRITE)));
        assertThat(run("xenstore-ls", "-p", "/vm").stdout()).contains("(r5,w6)");
        assertThat(run("xenstore-rm", "/vm/p").exitCode()).isZero();
        assertThat(xs.readIfExists("/vm/p")).isEmpty();
    }

    @Test
    void clientWatchSeesAToolsWrite() throws Exception {
        xs.mkdir("/vm");
        try (XenstoreWatch w = xs.watch("/vm")) {
            assertThat(w.next(Duration.ofSeconds(20))).isPresent();
            run("xenstore-write", "/vm/from-tool", "1");
            List<String> paths = new ArrayList<>();
            while (!paths.contains("/vm/from-tool")) {
                Optional<WatchEvent> e = w.next(Duration.ofSeconds(20));
                assertThat(e).as("event for /vm/from-tool").isPresent();
                paths.add(e.get().path());
            }
        }
    }
}
