package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The emulation itself, against tiny shell plugins: if it were lenient where XSS is strict
 * (smapiv3.md §3.1–§3.4), the end-to-end tests would pass plugins that xapi would reject.
 */
class XapiStorageScriptTest {
    @TempDir
    Path root;

    private Path dir;

    @BeforeEach
    void pluginDir() throws IOException {
        dir = Files.createDirectories(root.resolve(XapiStorageScript.VOLUME_DIR));
    }

    private void script(String name, String body) throws IOException {
        Path f = Files.writeString(dir.resolve(name), "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private StorageException failure(String method) {
        StorageException e = catchThrowableOfType(StorageException.class,
                () -> new XapiStorageScript(root, 5).volume(method, Json.obj("dbg", "t")));
        assertThat(e).as("%s must fail", method).isNotNull();
        return e;
    }

    @Test
    void passesExactlyDashDashJsonAndTheCompactObjectWithoutANewline() throws Exception {
        // The script echoes its argument count, its argument and its stdin back as a JSON array.
        script("Echo.args", "in=$(cat; echo x); in=${in%x}\n"
                + "printf '[%s, \"%s\", %s]' \"$#\" \"$1\" \"$(printf '%s' \"$in\" | wc -c)\"");
        String stdin = Json.compact(Json.obj("dbg", "t", "n", 1));
        JsonNode r = new XapiStorageScript(root).volume("echo.ARGS", Json.obj("dbg", "t", "n", 1));
        assertThat(r.get(0).asInt()).isEqualTo(1);
        assertThat(r.get(1).asText()).isEqualTo("--json");
        assertThat(r.get(2).asInt()).isEqualTo(stdin.length());
    }

    @Test
    void unitIsNullAndEmptyStdoutIsBadJson() throws Exception {
        script("Unit.ok", "cat >/dev/null; printf null");
        assertThat(new XapiStorageScript(root).volume("Unit.ok", Json.obj("dbg", "t")).isNull()).isTrue();

        script("Unit.empty", "cat >/dev/null; echo 'log line' >&2");
        StorageException e = failure("Unit.empty");
        assertThat(e.code()).isEqualTo("SCRIPT_FAILED");
        assertThat(e.error().param(1)).isEqualTo("bad json on stdout");
        assertThat(e.run().stderr()).contains("log line");
    }

    @Test
    void anythingAfterTheResultIsBadJson() throws Exception {
        script("Two.values", "cat >/dev/null; echo null; echo '{\"log\": 1}'");
        assertThat(failure("Two.values").error().param(1)).isEqualTo("bad json on stdout");
    }

    @Test
    void aWellFormedErrorRecordBecomesTheXenApiError() throws Exception {
        script("Err.ok", "cat >/dev/null; printf '%s' '{\"code\":\"SR_BACKEND_FAILURE\",\"params\":[\"A\",\"b\",\"c\"],"
                + "\"backtrace\":{\"error\":\"e\",\"files\":[],\"lines\":[]}}'; exit 1");
        StorageException e = failure("Err.ok");
        assertThat(e.error()).isEqualTo(new ErrorRecord("SR_BACKEND_FAILURE", java.util.List.of("A", "b", "c"), "e"));
    }

    @Test
    void anErrorRecordWithoutBacktraceOrWithGarbageIsScriptFailed() throws Exception {
        script("Err.nobt", "cat >/dev/null; printf '%s' '{\"code\":\"X\",\"params\":[]}'; exit 1");
        assertThat(failure("Err.nobt").error().param(1)).isEqualTo("non-zero exit and bad json on stdout");
        script("Err.text", "cat >/dev/null; echo 'Exception in thread main'; exit 3");
        StorageException e = failure("Err.text");
        assertThat(e.code()).isEqualTo("SCRIPT_FAILED");
        assertThat(e.error().param(2)).isEqualTo("3");
    }

    @Test
    void missingAndNonExecutableFilesAreReportedLikeXss() throws Exception {
        assertThat(failure("Nope.nothing").code()).isEqualTo("SCRIPT_MISSING");
        Path f = Files.writeString(dir.resolve("Not.exec"), "#!/bin/sh\necho null\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(failure("Not.exec").code()).isEqualTo("SCRIPT_NOT_EXECUTABLE");
        Files.createDirectory(dir.resolve("A.directory"));
        assertThat(failure("A.directory").code()).isEqualTo("SCRIPT_MISSING");
    }

    @Test
    void aHungScriptFailsInsteadOfBlocking() throws Exception {
        script("Hang.forever", "exec sleep 600");
        StorageException e = catchThrowableOfType(StorageException.class,
                () -> new XapiStorageScript(root, 1).volume("Hang.forever", Json.obj("dbg", "t")));
        assertThat(e.code()).isEqualTo(XapiStorageScript.TIMEOUT_CODE);
    }

    @Test
    void aScriptKilledByASignalIsReportedAsSignalled() throws Exception {
        script("Die.killed", "cat >/dev/null; kill -9 $$");
        StorageException e = failure("Die.killed");
        assertThat(e.code()).isEqualTo("SCRIPT_FAILED");
        assertThat(e.error().param(1)).isEqualTo("signalled");
        assertThat(e.error().param(2)).isEqualTo("9");
    }
}
