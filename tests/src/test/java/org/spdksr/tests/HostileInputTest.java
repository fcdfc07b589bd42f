package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 19 (items 3 and 4), found by an attacker: input xapi would never send must still get an
 * Invalid_arguments or SR_does_not_exist error record (smapiv3.md §3.3), never Internal_error, an
 * OutOfMemoryError or an empty stdout; and no call creates files where there is no live SR.
 * Drives the real staged entry points, like {@link BadInputTest}.
 */
class HostileInputTest {
    private static final long MIB = 1L << 20;

    private static final Xapi xapi = Xapi.staged();
    private static final XapiStorageScript xss = xapi.xss();

    @TempDir
    static Path srDir;

    private static String sr;

    @BeforeAll
    static void createSr() throws IOException {
        // SR.create alone: the file back end needs no SR.attach, and each call is a JVM start.
        xapi.srCreate(java.util.UUID.randomUUID().toString(), Map.of("path", srDir.toString()), "hostile input", "");
        sr = "file://" + srDir.toRealPath();
    }

    // ---- numbers --------------------------------------------------------------------------

    @Test
    void sizesBeyondAnyDeviceAreVdiTooLargeNotInternalErrors() {
        // The same answer the back ends give for a size they cannot hold (FileSrTest, SpdkBackendTest).
        for (Object size : new Object[] {Long.MAX_VALUE, (1L << 62) + 1}) {
            ErrorRecord e = failure("Volume.create", Xapi.args("Volume.create", "sr", sr, "name", "n",
                    "description", "", "size", size, "sharable", false));
            assertThat(e.code()).as("%s", e).isEqualTo("SR_BACKEND_FAILURE");
            assertThat(e.param(0)).as("%s", e).isEqualTo("VDI_too_large");
            assertThat(e.param(1)).isEqualTo(sr);
            assertThat(e.param(2)).as("message names the argument and what to do").contains("size", "smaller size");
        }
        Volume v = Volume.from(xapi.volumeCall("Volume.create", "sr", sr, "name", "grow me", "description", "",
                "size", MIB, "sharable", false));
        ErrorRecord e = failure("Volume.resize", Xapi.args("Volume.resize", "sr", sr, "key", v.key(),
                "new_size", Long.MAX_VALUE));
        assertThat(e.param(0)).as("%s", e).isEqualTo("VDI_too_large");
        assertThat(e.param(1)).isEqualTo(v.key());
        assertThat(e.param(2)).contains("new_size");
        assertThat(xapi.volumeStat(sr, v.key()).virtualSize()).isEqualTo(MIB);
    }

    // ---- what stdin may hold --------------------------------------------------------------

    @Test
    void aStdinOfThreeHundredMegabytesGetsAnErrorRecordNotOutOfMemory() {
        // A string argument that never ends: generated while it is written, never held in memory.
        byte[] head = ("{\"dbg\": \"x\", \"sr\": \"" + sr + "\", \"new_name\": \"").getBytes(StandardCharsets.UTF_8);
        long total = 300 * MIB;
        ScriptRun run = runStreaming("SR.set_name", out -> {
            out.write(head);
            byte[] chunk = new byte[1 << 16];
            Arrays.fill(chunk, (byte) 'a');
            for (long written = head.length; written < total; written += chunk.length) {
                out.write(chunk);
            }
            out.write("\"}".getBytes(StandardCharsets.UTF_8));
        });
        ErrorRecord e = failureOf(run);
        assertInvalidArguments(e, "SR.set_name");
        assertThat(e.param(2)).as("the error says the cap").contains("MiB");
        assertThat(xapi.srStat(sr).name()).isEqualTo("hostile input");
    }

    @Test
    void stdinThatIsNotUtf8IsInvalidArguments() {
        byte[] before = ("{\"dbg\": \"x\", \"sr\": \"" + sr + "\", \"new_name\": \"").getBytes(StandardCharsets.UTF_8);
        byte[] after = "\"}".getBytes(StandardCharsets.UTF_8);
        ScriptRun run = runStreaming("SR.set_name", out -> {
            out.write(before);
            out.write(new byte[] {(byte) 0xff, (byte) 0xfe, (byte) 0xc3});
            out.write(after);
        });
        assertInvalidArguments(failureOf(run), "SR.set_name");
        assertThat(xapi.srStat(sr).name()).as("not stored with replacement characters").isEqualTo("hostile input");
    }

    @Test
    void anArgumentGivenTwiceIsInvalidArguments() {
        ScriptRun run = xss.run(XapiStorageScript.Kind.VOLUME, "SR.set_name",
                "{\"dbg\": \"x\", \"sr\": \"" + sr + "\", \"new_name\": \"a\", \"new_name\": \"b\"}");
        assertInvalidArguments(failureOf(run), "SR.set_name");
        assertThat(xapi.srStat(sr).name()).isEqualTo("hostile input");
    }

    @Test
    void aNulInADeviceConfigPathIsInvalidArguments() {
        assertInvalidArguments(failure("SR.probe", Xapi.args("SR.probe", "configuration",
                Map.of("path", srDir + "\u0000/x"))), "SR.probe");
    }

    // ---- nothing outside a live SR --------------------------------------------------------

    @Test
    void callsOnADirectoryThatIsNotAnSrLeaveNothingThere(@TempDir Path notAnSr) throws IOException {
        String handle = "file://" + notAnSr;
        Map<String, com.fasterxml.jackson.databind.node.ObjectNode> calls = Map.of(
                "SR.stat", Xapi.args("SR.stat", "sr", handle),
                "Volume.create", Xapi.args("Volume.create", "sr", handle, "name", "n", "description", "",
                        "size", MIB, "sharable", false),
                "SR.destroy", Xapi.args("SR.destroy", "sr", handle));
        calls.forEach((method, args) -> xss.run(XapiStorageScript.Kind.VOLUME, method, Json.compact(args)));
        // Inside a live SR too: its volumes/ directory is not an SR.
        xss.run(XapiStorageScript.Kind.VOLUME, "SR.ls",
                Json.compact(Xapi.args("SR.ls", "sr", "file://" + Disk.volumesDir(srDir))));
        assertThat(entries(notAnSr)).as("files left in a directory that is not an SR").isEmpty();
        assertThat(entries(Disk.volumesDir(srDir))).noneMatch(name -> name.startsWith(".") || name.endsWith(".db"));
    }

    @Test
    void aRetriedDestroyCleansUpAfterAnInterruptedOneAndADestroyedSrGetsNothingNew(@TempDir Path dir)
            throws IOException {
        // SR.create alone: the file back end needs no SR.attach, and each call is a JVM start.
        xapi.srCreate(java.util.UUID.randomUUID().toString(), Map.of("path", dir.toString()), "interrupted", "");
        String handle = "file://" + dir.toRealPath();
        // What SR.destroy leaves when killed just before its last step (FileSite.destroy's order).
        deleteTree(Disk.volumesDir(dir));
        Files.delete(dir.resolve("spdk-sr.db"));
        assertThat(entries(dir)).containsExactly(".spdk-sr.lock");
        xapi.volumeCall("SR.destroy", "sr", handle);
        assertThat(entries(dir)).as("files left after the retried SR.destroy").isEmpty();

        // Calls on the destroyed SR fail cleanly and create nothing.
        ErrorRecord e = failure("SR.stat", Xapi.args("SR.stat", "sr", handle));
        assertThat(e.code()).isEqualTo("SR_BACKEND_FAILURE");
        assertThat(e.param(0)).isEqualTo("SR_does_not_exist");
        failure("Volume.create", Xapi.args("Volume.create", "sr", handle, "name", "n", "description", "",
                "size", MIB, "sharable", false));
        assertThat(entries(dir)).as("files left behind by calls on a destroyed SR").isEmpty();
    }

    // ---- helpers --------------------------------------------------------------------------

    @FunctionalInterface
    private interface StdinWriter {
        void write(OutputStream stdin) throws IOException;
    }

    /** Like {@link XapiStorageScript#run} but stdin is streamed, so it can be far larger than the heap. */
    private static ScriptRun runStreaming(String method, StdinWriter writer) {
        Path script = xss.resolve(XapiStorageScript.Kind.VOLUME, method);
        try {
            Process p = new ProcessBuilder(script.toString(), "--json").directory(xss.root().toFile()).start();
            CompletableFuture<String> out = readAll(p.getInputStream());
            CompletableFuture<String> err = readAll(p.getErrorStream());
            try (OutputStream stdin = p.getOutputStream()) {
                writer.write(stdin);
            } catch (IOException e) {
                // EPIPE: the entry point may answer without reading everything; its stdout decides.
            }
            assertThat(p.waitFor(120, TimeUnit.SECONDS)).as("%s answered", method).isTrue();
            return new ScriptRun(script, method, "(streamed)", p.exitValue(), out.get(30, TimeUnit.SECONDS),
                    err.get(30, TimeUnit.SECONDS));
        } catch (Exception e) {
            throw new IllegalStateException("cannot run " + script, e);
        }
    }

    private static CompletableFuture<String> readAll(InputStream in) {
        return CompletableFuture.supplyAsync(() -> {
            try (in) {
                ByteArrayOutputStream buffer = new ByteArrayOutputStream();
                in.transferTo(buffer);
                return buffer.toString(StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }

    private static ErrorRecord failure(String method, com.fasterxml.jackson.databind.node.ObjectNode args) {
        return failureOf(xss.run(XapiStorageScript.Kind.VOLUME, method, Json.compact(args)));
    }

    /** The failure shape every error shares: non-zero exit, an error record, no stack trace. */
    private static ErrorRecord failureOf(ScriptRun run) {
        assertThat(run.exitCode()).as("exit code of %s; stdout %s; stderr: %s", run.method(), abbreviate(run.stdout()),
                abbreviate(run.stderr())).isNotZero();
        assertThat(run.stdout()).as("stdout of %s", run.method()).isNotBlank();
        assertThat(run.stdoutHasStackTrace()).as("stack trace on stdout: %s", abbreviate(run.stdout())).isFalse();
        StorageException e = catchThrowableOfType(StorageException.class, () -> XapiStorageScript.interpret(run));
        assertThat(e).as("%s must fail", run.method()).isNotNull();
        assertThat(e.code()).as("%s", e.getMessage()).isNotEqualTo("SCRIPT_FAILED");
        assertThat(e.error().params()).hasSizeGreaterThanOrEqualTo(3);
        assertThat(e.error().param(0)).as("%s", e.error()).isNotEqualTo("Internal_error");
        assertThat(e.error().param(2)).isNotBlank();
        return e.error();
    }

    private static void assertInvalidArguments(ErrorRecord e, String method) {
        assertThat(e.code()).as("%s", e).isEqualTo("SR_BACKEND_FAILURE");
        assertThat(e.param(0)).as("%s", e).isEqualTo("Invalid_arguments");
        assertThat(e.param(1)).isEqualToIgnoringCase(method);
    }

    private static String abbreviate(String text) {
        return text.length() > 2000 ? text.substring(0, 2000) + "..." : text;
    }

    private static List<String> entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
