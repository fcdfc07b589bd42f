package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The entry points of the staged tree (smapiv3.md §2.4) and the Python shim behind them, which
 * must work when executed, when loaded by runpy as the SMAPI observer does (§3.7), and on the
 * Python 3.6 of older hosts.
 */
class ShimTest {
    static final List<String> VOLUME_METHODS = List.of("Plugin.Query", "Plugin.diagnostics", "SR.probe",
            "SR.create", "SR.attach", "SR.detach", "SR.destroy", "SR.stat", "SR.ls", "SR.set_name",
            "SR.set_description", "Volume.create", "Volume.destroy", "Volume.stat", "Volume.set", "Volume.unset",
            "Volume.set_name", "Volume.set_description", "Volume.resize", "Volume.snapshot", "Volume.clone");
    private static final Path PYTHON36 = Path.of("/root/.pyenv/versions/3.6.15/bin/python3.6");
    private static final String QUERY_ARGS = "{\"dbg\":\"shim-test\"}";

    private final XapiStorageScript xss = XapiStorageScript.staged();

    static Path shim() {
        return XapiStorageScript.stageRoot().resolve("usr/libexec/spdk-sr/smapi-shim.py");
    }

    private Path entry(XapiStorageScript.Kind kind, String method) {
        return xss.pluginDir(kind).resolve(method);
    }

    @Test
    void everyMethodIsALinkToTheOneShim() throws IOException {
        Path shim = shim().toRealPath();
        for (String m : VOLUME_METHODS) {
            Path p = entry(XapiStorageScript.Kind.VOLUME, m);
            assertThat(p).as(m).exists();
            assertThat(Files.isSymbolicLink(p)).as("%s is a symlink", m).isTrue();
            assertThat(p.toRealPath()).as(m).isEqualTo(shim);
            assertThat(Files.isExecutable(p)).as(m).isTrue();
        }
        assertThat(entry(XapiStorageScript.Kind.DATAPATH, "Plugin.Query")).exists();
        try (Stream<Path> dp = Files.list(xss.pluginDir(XapiStorageScript.Kind.DATAPATH))) {
            assertThat(dp).allSatisfy(p -> assertThat(p.toRealPath()).as("%s", p).isEqualTo(shim));
        }
        // Method files advertise features by their mere presence (§2.4, §8): nothing unexpected.
        assertThat(lowerNames(xss.pluginDir(XapiStorageScript.Kind.VOLUME)))
                .containsExactlyInAnyOrderElementsOf(
                        VOLUME_METHODS.stream().map(m -> m.toLowerCase(Locale.ROOT)).collect(Collectors.toList()));
    }

    private static Set<String> lowerNames(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString().toLowerCase(Locale.ROOT))
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    @Test
    void theShimRunsWhenExecuted() throws Exception {
        ProcessOutput out = runProcess(List.of(entry(XapiStorageScript.Kind.VOLUME, "Plugin.Query").toString(),
                "--json"), QUERY_ARGS);
        assertThat(out.exitCode()).as(out.stderr()).isZero();
        assertThat(QueryResult.from(Json.parse(out.stdout())).plugin()).isEqualTo("spdk");
    }

    @Test
    void theShimRunsWhenLoadedWithRunpy() throws Exception {
        // What observer.py does (§3.7): argv[0] is the method link, the code runs as __main__.
        ProcessOutput ok = runpy("python3", entry(XapiStorageScript.Kind.VOLUME, "Plugin.Query"), QUERY_ARGS);
        assertThat(ok.exitCode()).as(ok.stderr()).isZero();
        assertThat(QueryResult.from(Json.parse(ok.stdout())).plugin()).isEqualTo("spdk");

        ProcessOutput dp = runpy("python3", entry(XapiStorageScript.Kind.DATAPATH, "Plugin.Query"), QUERY_ARGS);
        assertThat(dp.exitCode()).as(dp.stderr()).isZero();
        assertThat(QueryResult.from(Json.parse(dp.stdout())).plugin()).isEqualTo("spdk-sr");

        // Errors keep their exit code and record through runpy too.
        ProcessOutput bad = runpy("python3", entry(XapiStorageScript.Kind.VOLUME, "SR.stat"), "not json");
        assertThat(bad.exitCode()).isNotZero();
        JsonNode err = Json.parse(bad.stdout());
        assertThat(XapiStorageScript.errorRecordOrNull(err)).isNotNull();
    }

    @Test
    void theShimSupportsPython36() throws Exception {
        Path link = entry(XapiStorageScript.Kind.VOLUME, "Plugin.Query");
        if (Files.isExecutable(PYTHON36)) {
            ProcessOutput direct = runProcess(List.of(PYTHON36.toString(), link.toString(), "--json"), QUERY_ARGS);
            assertThat(direct.exitCode()).as(direct.stderr()).isZero();
            assertThat(QueryResult.from(Json.parse(direct.stdout())).plugin()).isEqualTo("spdk");
            ProcessOutput viaRunpy = runpy(PYTHON36.toString(), link, QUERY_ARGS);
            assertThat(viaRunpy.exitCode()).as(viaRunpy.stderr()).isZero();
            assertThat(QueryResult.from(Json.parse(viaRunpy.stdout())).plugin()).isEqualTo("spdk");
        } else {
            // No 3.6 interpreter here: at least make sure the grammar is 3.6's.
            String check = "import ast, sys\n"
                    + "src = open(sys.argv[1], encoding='utf-8').read()\n"
                    + "ast.parse(src, filename=sys.argv[1], feature_version=(3, 6))\n";
            ProcessOutput parsed = runProcess(List.of("python3", "-c", check, shim().toString()), "");
            assertThat(parsed.exitCode()).as(parsed.stderr()).isZero();
        }
    }

    @Test
    void nothingButTheResultReachesStdout() throws Exception {
        ProcessOutput out = runProcess(List.of(entry(XapiStorageScript.Kind.VOLUME, "Plugin.Query").toString(),
                "--json"), QUERY_ARGS);
        assertThat(out.exitCode()).isZero();
        // The whole of stdout is one JSON value (Json.MAPPER rejects trailing tokens).
        assertThat(Json.parse(out.stdout()).isObject()).isTrue();
    }

    private ProcessOutput runpy(String python, Path link, String stdin) throws Exception {
        String code = "import runpy, sys; sys.argv = [sys.argv[1], '--json']; "
                + "runpy.run_path(sys.argv[0], run_name='__main__')";
        return runProcess(List.of(python, "-c", code, link.toString()), stdin);
    }

    record ProcessOutput(int exitCode, String stdout, String stderr) {
    }

    /** Output goes to files so that a hung child cannot block the test past the timeout. */
    static ProcessOutput runProcess(List<String> argv, String stdin) throws Exception {
        Path outFile = Files.createTempFile("shim-test", ".stdout");
        Path errFile = Files.createTempFile("shim-test", ".stderr");
        try {
            Process p = new ProcessBuilder(new ArrayList<>(argv))
                    .redirectOutput(outFile.toFile()).redirectError(errFile.toFile()).start();
            try (var in = p.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                // the child may exit without reading stdin
            }
            if (!p.waitFor(XapiStorageScript.CALL_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new AssertionError("no answer within the timeout from " + argv);
            }
            return new ProcessOutput(p.exitValue(), Files.readString(outFile), Files.readString(errFile));
        } finally {
            Files.deleteIfExists(outFile);
            Files.deleteIfExists(errFile);
        }
    }
}
