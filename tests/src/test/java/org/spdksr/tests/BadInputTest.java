package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.function.Consumer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Input xapi would never send, or sends for things that do not exist: each must give the error
 * record of smapiv3.md §3.3 with a non-zero exit, a non-empty message and no stack trace on stdout.
 */
class BadInputTest {
    private static final long MIB = 1L << 20;

    private static final Xapi xapi = Xapi.staged();
    private static final XapiStorageScript xss = xapi.xss();

    /** One SR for the class: every test here only adds volumes, and SR.create costs four JVM starts. */
    @TempDir
    static Path srDir;

    private static String sr;

    @BeforeAll
    static void createSr() {
        sr = xapi.srCreateAndPlug(Map.of("path", srDir.toString()), "bad input", "").sr();
    }

    /** Runs a raw stdin and checks the failure shape every error shares. */
    private ErrorRecord rawFailure(String method, String stdin) {
        ScriptRun run = xss.run(XapiStorageScript.Kind.VOLUME, method, stdin);
        assertThat(run.exitCode()).as("exit code of %s with %s; stderr: %s", method, stdin, run.stderr()).isNotZero();
        assertThat(run.stdoutHasStackTrace()).as("stack trace on stdout: %s", run.stdout()).isFalse();
        StorageException e = catchThrowableOfType(StorageException.class, () -> XapiStorageScript.interpret(run));
        assertThat(e).as("%s with %s must fail", method, stdin).isNotNull();
        assertThat(e.code()).as("%s", e.getMessage()).isNotEqualTo("SCRIPT_FAILED");
        assertWellFormed(e.error());
        return e.error();
    }

    private ErrorRecord failure(String method, ObjectNode args) {
        return rawFailure(method, Json.compact(args));
    }

    private static void assertWellFormed(ErrorRecord error) {
        assertThat(error.params()).as("params of %s", error).hasSizeGreaterThanOrEqualTo(3);
        assertThat(error.params().get(2)).as("message of %s", error).isNotBlank();
    }

    /** SR_BACKEND_FAILURE [variant, subject, message]: a key or path subject must match exactly. */
    private static Consumer<ErrorRecord> backendFailure(String variant, String subject) {
        return e -> {
            assertThat(e.code()).isEqualTo("SR_BACKEND_FAILURE");
            assertThat(e.param(0)).isEqualTo(variant);
            if (variant.equals("Invalid_arguments") || variant.equals("Unimplemented")) {
                // A method name: XSS itself matches those case-insensitively (§2.4).
                assertThat(e.param(1)).isEqualToIgnoringCase(subject);
            } else {
                assertThat(e.param(1)).isEqualTo(subject);
            }
        };
    }

    @Test
    void notJsonIsInvalidArguments() {
        assertThat(rawFailure("SR.stat", "{\"dbg\": \"x\", \"sr\": ")).satisfies(backendFailure("Invalid_arguments", "SR.stat"));
        assertThat(rawFailure("Volume.create", "")).satisfies(backendFailure("Invalid_arguments", "Volume.create"));
    }

    @Test
    void anArrayOrAScalarInsteadOfTheArgumentObjectIsInvalidArguments() {
        assertThat(rawFailure("SR.ls", "[\"dbg\", \"" + sr + "\"]")).satisfies(backendFailure("Invalid_arguments", "SR.ls"));
        assertThat(rawFailure("SR.ls", "\"" + sr + "\"")).satisfies(backendFailure("Invalid_arguments", "SR.ls"));
        assertThat(rawFailure("SR.ls", "null")).satisfies(backendFailure("Invalid_arguments", "SR.ls"));
    }

    @Test
    void missingArgumentsAreInvalidArguments() {
        assertThat(failure("Volume.create", Xapi.args("Volume.create", "sr", sr, "name", "n", "description", "d",
                "sharable", false))).satisfies(backendFailure("Invalid_arguments", "Volume.create"));
        assertThat(failure("SR.create", Xapi.args("SR.create", "uuid", "4b3d0b4e-6b57-4c1f-9a53-3cbd1f8d3a10",
                "name", "n", "description", "d"))).satisfies(backendFailure("Invalid_arguments", "SR.create"));
        // An existing volume, so that only the missing "v" can be the problem.
        String key = xapi.vdiCreate(sr, "target", MIB).key();
        assertThat(failure("Volume.set", Xapi.args("Volume.set", "sr", sr, "key", key, "k", "only-k")))
                .satisfies(backendFailure("Invalid_arguments", "Volume.set"));
        assertThat(failure("SR.stat", Json.obj("dbg", "no sr"))).satisfies(backendFailure("Invalid_arguments", "SR.stat"));
    }

    @Test
    void mistypedArgumentsAreInvalidArguments() {
        // §3.5: bool never accepts a string; int64 rejects floats.
        assertThat(failure("Volume.create", Xapi.args("Volume.create", "sr", sr, "name", "n", "description", "d",
                "size", MIB, "sharable", "false"))).satisfies(backendFailure("Invalid_arguments", "Volume.create"));
        assertThat(failure("Volume.create", Xapi.args("Volume.create", "sr", sr, "name", "n", "description", "d",
                "size", 1048576.5, "sharable", false))).satisfies(backendFailure("Invalid_arguments", "Volume.create"));
        assertThat(failure("Volume.create", Xapi.args("Volume.create", "sr", sr, "name", "n", "description", "d",
                "size", "12ab", "sharable", false))).satisfies(backendFailure("Invalid_arguments", "Volume.create"));
        assertThat(failure("SR.attach", Xapi.args("SR.attach", "configuration", "path=" + srDir)))
                .satisfies(backendFailure("Invalid_arguments", "SR.attach"));
        assertThat(failure("SR.ls", Xapi.args("SR.ls", "sr", 42))).satisfies(backendFailure("Invalid_arguments", "SR.ls"));
    }

    @Test
    void int64AsADecimalStringIsAccepted() {
        JsonNode created = xss.volume("Volume.create", Xapi.args("Volume.create", "sr", sr, "name", "s",
                "description", "", "size", String.valueOf(MIB), "sharable", false));
        Volume v = Volume.from(created);
        assertThat(v.virtualSize()).isEqualTo(MIB);
        assertThat(xss.volume("Volume.resize", Xapi.args("Volume.resize", "sr", sr, "key", v.key(),
                "new_size", String.valueOf(2 * MIB))).isNull()).isTrue();
        assertThat(xapi.volumeStat(sr, v.key()).virtualSize()).isEqualTo(2 * MIB);
    }

    @Test
    void extraArgumentsAndATraceContextInDbgAreAccepted() {
        // §3.5: extra fields are ignored; §3.6: dbg may carry a W3C trace context after a newline.
        ObjectNode args = Xapi.args("SR.stat", "sr", sr, "future_field", "ignored");
        args.put("dbg", "OpaqueRef:abc\n{\"traceparent\":\"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\"}");
        assertThat(SrStat.from(xss.volume("SR.stat", args)).sr()).isEqualTo(sr);
    }

    @Test
    void unknownDeviceConfigKeysAreRefusedByName(@TempDir Path other) {
        ErrorRecord e = failure("SR.create", Xapi.args("SR.create", "uuid", "0d9b3f8e-2f4c-4f0a-9d55-8a1f9d0e2b11",
                "configuration", Map.of("path", other.toString(), "pth", other.toString()),
                "name", "typo", "description", ""));
        assertThat(e).satisfies(backendFailure("Invalid_arguments", "SR.create"));
        assertThat(e.param(2)).contains("pth");
    }

    @Test
    void unknownVolumesAreVolumeDoesNotExist() {
        String key = "no-such-volume";
        for (String method : new String[] {"Volume.stat", "Volume.snapshot", "Volume.clone"}) {
            assertThat(failure(method, Xapi.args(method, "sr", sr, "key", key)))
                    .as(method).satisfies(backendFailure("Volume_does_not_exist", key));
        }
        assertThat(failure("Volume.set", Xapi.args("Volume.set", "sr", sr, "key", key, "k", "a", "v", "b")))
                .satisfies(backendFailure("Volume_does_not_exist", key));
        assertThat(failure("Volume.resize", Xapi.args("Volume.resize", "sr", sr, "key", key, "new_size", MIB)))
                .satisfies(backendFailure("Volume_does_not_exist", key));
        // ... but destroying one succeeds: xapi retries destroys (issue 2: idempotent).
        xapi.vdiDestroy(sr, key);
    }

    @Test
    void shrinkingIsRefusedAndLeavesTheVolumeAlone() {
        Volume v = xapi.vdiCreate(sr, "shrink me", 4 * MIB);
        ErrorRecord e = failure("Volume.resize", Xapi.args("Volume.resize", "sr", sr, "key", v.key(), "new_size", MIB));
        assertThat(e.code()).isEqualTo("SR_BACKEND_FAILURE_79");
        assertThat(e.param(0)).isEqualTo("VDI Invalid size");
        assertThat(e.param(1)).isEqualTo(v.key());
        assertThat(xapi.volumeStat(sr, v.key()).virtualSize()).isEqualTo(4 * MIB);
        // Resizing to the current size is not a shrink.
        assertThat(xapi.vdiResize(sr, v.key(), 4 * MIB).virtualSize()).isEqualTo(4 * MIB);
    }

    @Test
    void anSrPathThatDoesNotExistIsSrDoesNotExist() {
        String missing = srDir.resolve("not/there").toString();
        Map<String, String> config = Map.of("path", missing);
        assertThat(failure("SR.create", Xapi.args("SR.create", "uuid", "7f1c2d3e-4a5b-4c6d-8e9f-0a1b2c3d4e5f",
                "configuration", config, "name", "n", "description", "")))
                .satisfies(backendFailure("SR_does_not_exist", missing));
        assertThat(failure("SR.attach", Xapi.args("SR.attach", "configuration", config)))
                .satisfies(backendFailure("SR_does_not_exist", missing));
        assertThat(failure("SR.probe", Xapi.args("SR.probe", "configuration", config)))
                .satisfies(backendFailure("SR_does_not_exist", missing));
        assertThat(Path.of(missing)).doesNotExist();
    }

    @Test
    void methodFilesAreFoundCaseInsensitively() {
        // §2.4: XSS calls "Plugin.query" while the file is conventionally "Plugin.Query".
        assertThat(QueryResult.from(xss.volume("plugin.query", Xapi.args("Plugin.query"))).plugin()).isEqualTo("spdk");
        assertThat(SrStat.from(xss.volume("sr.STAT", Xapi.args("SR.stat", "sr", sr))).sr()).isEqualTo(sr);
    }

    @Test
    void aMissingMethodFileIsScriptMissing() {
        StorageException e = catchThrowableOfType(StorageException.class,
                () -> xss.volume("Volume.compose", Xapi.args("Volume.compose", "sr", sr, "key", "a", "key2", "b")));
        assertThat(e).isNotNull();
        assertThat(e.code()).isEqualTo("SCRIPT_MISSING");
    }

    @Test
    void aMethodTheLauncherDoesNotKnowIsUnimplemented(@TempDir Path scratchRoot) throws IOException {
        // A scratch XSS root whose only method file links to the real shim under a name the
        // launcher has no handler for: the shim dispatches on the link name (§2.4).
        Path dir = scratchRoot.resolve(XapiStorageScript.VOLUME_DIR);
        Files.createDirectories(dir);
        Path shim = ShimTest.shim();
        Files.createSymbolicLink(dir.resolve("Volume.frobnicate"), shim);
        XapiStorageScript scratch = new XapiStorageScript(scratchRoot);
        ScriptRun run = scratch.run(XapiStorageScript.Kind.VOLUME, "volume.FROBNICATE",
                Json.compact(Xapi.args("Volume.frobnicate", "sr", sr, "key", "x")));
        assertThat(run.exitCode()).isNotZero();
        assertThat(run.stdoutHasStackTrace()).isFalse();
        StorageException e = catchThrowableOfType(StorageException.class, () -> XapiStorageScript.interpret(run));
        assertThat(e.error()).satisfies(backendFailure("Unimplemented", "Volume.frobnicate"));
        assertWellFormed(e.error());
    }

    @Test
    void aNonExecutableMethodFileIsScriptNotExecutable(@TempDir Path scratchRoot) throws IOException {
        Path dir = scratchRoot.resolve(XapiStorageScript.VOLUME_DIR);
        Files.createDirectories(dir);
        Path file = Files.writeString(dir.resolve("Plugin.Query"), "#!/bin/sh\necho null\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        StorageException e = catchThrowableOfType(StorageException.class,
                () -> new XapiStorageScript(scratchRoot).volume("Plugin.Query", Xapi.args("Plugin.Query")));
        // root may execute anything with an x bit somewhere; with none, X_OK fails even for root.
        assertThat(e.code()).isEqualTo("SCRIPT_NOT_EXECUTABLE");
    }

    @Test
    void callsOnAnUnknownSrHandleFailCleanly(@TempDir Path notAnSr) {
        ScriptRun run = xss.run(XapiStorageScript.Kind.VOLUME, "SR.ls",
                Json.compact(Xapi.args("SR.ls", "sr", notAnSr.resolve("gone").toString())));
        assertThat(run.exitCode()).isNotZero();
        assertThat(run.stdoutHasStackTrace()).isFalse();
        StorageException e = catchThrowableOfType(StorageException.class, () -> XapiStorageScript.interpret(run));
        assertThat(e.code()).startsWith("SR_BACKEND_FAILURE");
        assertWellFormed(e.error());
    }

    @Test
    void absurdSizesAreRefusedCleanly() {
        for (Object size : new Object[] {-1L, "-4096", "99999999999999999999"}) {
            ErrorRecord e = failure("Volume.create", Xapi.args("Volume.create", "sr", sr, "name", "n",
                    "description", "", "size", size, "sharable", false));
            assertThat(e.code()).as("size %s", size).startsWith("SR_BACKEND_FAILURE");
        }
        Volume v = xapi.vdiCreate(sr, "grow me", MIB);
        ErrorRecord e = failure("Volume.resize", Xapi.args("Volume.resize", "sr", sr, "key", v.key(), "new_size", -MIB));
        assertThat(e.code()).startsWith("SR_BACKEND_FAILURE");
        assertThat(xapi.volumeStat(sr, v.key()).virtualSize()).isEqualTo(MIB);
    }

    @Test
    void aSizeTheFileSystemCannotHoldFailsCleanlyAndLeavesNothingBehind() throws IOException {
        Set<String> before = volumeFiles();
        Set<String> listedBefore = listedKeys();
        // 1 EiB: far beyond any ext4/xfs file size limit, so the back end's truncate must fail.
        ErrorRecord e = failure("Volume.create", Xapi.args("Volume.create", "sr", sr, "name", "too big",
                "description", "", "size", 1L << 60, "sharable", false));
        assertThat(e.code()).startsWith("SR_BACKEND_FAILURE");
        assertThat(volumeFiles()).as("files in volumes/ after a failed create").isEqualTo(before);
        assertThat(listedKeys()).isEqualTo(listedBefore);
    }

    @Test
    void keysCannotReachFilesOutsideTheSr() throws IOException {
        Path victim = Files.writeString(srDir.resolve("victim.raw"), "precious");
        try {
            for (String key : new String[] {"../victim", "../../victim", srDir.resolve("victim").toString()}) {
                assertThat(failure("Volume.stat", Xapi.args("Volume.stat", "sr", sr, "key", key)))
                        .satisfies(backendFailure("Volume_does_not_exist", key));
                // Destroy may succeed (idempotent) or refuse, but must not touch the file.
                xss.run(XapiStorageScript.Kind.VOLUME, "Volume.destroy",
                        Json.compact(Xapi.args("Volume.destroy", "sr", sr, "key", key)));
                assertThat(victim).hasContent("precious");
            }
        } finally {
            Files.deleteIfExists(victim);
        }
    }

    private static Set<String> volumeFiles() throws IOException {
        try (Stream<Path> s = Files.list(Disk.volumesDir(srDir))) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    private static Set<String> listedKeys() {
        return xapi.srLs(sr).stream().map(Volume::key).collect(Collectors.toSet());
    }
}
