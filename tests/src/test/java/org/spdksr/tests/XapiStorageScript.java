package org.spdksr.tests;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;

/**
 * An emulation of xapi-storage-script (XSS): finds the plugin directories under the script root
 * (smapiv3.md §2.1), resolves method files case-insensitively (§2.4) and runs them as child
 * processes exactly as §3.1 describes, turning the outcome into a result or an {@link ErrorRecord}
 * the way XSS does (§3.2–§3.4).
 *
 * <p>One deliberate difference: XSS has no timeout (§3.1), but a hung plugin must fail a test,
 * not block CI, so every call is bounded by {@link #CALL_TIMEOUT_SECONDS}.
 */
public final class XapiStorageScript {
    public static final String VOLUME_DIR = "volume/org.xen.xapi.storage.spdk";
    public static final String DATAPATH_DIR = "datapath/spdk-sr";
    public static final long CALL_TIMEOUT_SECONDS = 60;
    /** Code the emulation uses for a call that exceeded the timeout XSS does not have. */
    public static final String TIMEOUT_CODE = "TEST_EMULATION_TIMEOUT";

    /** Which of the two plugin directories a call goes to. */
    public enum Kind { VOLUME, DATAPATH }

    private final Path root;
    private final long timeoutSeconds;
    private final Map<String, String> environment;

    public XapiStorageScript(Path root) {
        this(root, CALL_TIMEOUT_SECONDS);
    }

    /** A shorter timeout is only for the emulation's own tests. */
    public XapiStorageScript(Path root, long timeoutSeconds) {
        this(root, timeoutSeconds, Map.of());
    }

    private XapiStorageScript(Path root, long timeoutSeconds, Map<String, String> environment) {
        this.root = root;
        this.timeoutSeconds = timeoutSeconds;
        this.environment = Map.copyOf(environment);
    }

    /**
     * The same emulation with extra environment variables for the scripts: XSS passes its own
     * environment on (§3.1), which on a test host is where the simulation and run directory are chosen.
     */
    public XapiStorageScript withEnvironment(Map<String, String> extra) {
        Map<String, String> merged = new HashMap<>(environment);
        merged.putAll(extra);
        return new XapiStorageScript(root, timeoutSeconds, merged);
    }

    /** The staged install tree built by {@code mvn package} (system property set by tests/pom.xml). */
    public static Path stageRoot() {
        String prop = System.getProperty("spdksr.stage.root");
        Path p = prop != null ? Paths.get(prop) : Paths.get("..", "target", "root");
        return p.toAbsolutePath().normalize();
    }

    public static XapiStorageScript staged() {
        return new XapiStorageScript(stageRoot().resolve("usr/libexec/xapi-storage-script"));
    }

    public Path root() {
        return root;
    }

    public Path pluginDir(Kind kind) {
        return root.resolve(kind == Kind.VOLUME ? VOLUME_DIR : DATAPATH_DIR);
    }

    public JsonNode volume(String method, ObjectNode args) {
        return call(Kind.VOLUME, method, args);
    }

    public JsonNode datapath(String method, ObjectNode args) {
        return call(Kind.DATAPATH, method, args);
    }

    /** Runs one call; returns the result value or throws {@link StorageException} as xapi would see it. */
    public JsonNode call(Kind kind, String method, ObjectNode args) {
        ScriptRun run = run(kind, method, Json.compact(args));
        return interpret(run);
    }

    /**
     * Runs the method file with an arbitrary stdin (the bad-input tests send text XSS never would).
     * Throws {@link StorageException} only for the errors XSS raises before or instead of reading
     * the output: missing/non-executable script, timeout.
     */
    public ScriptRun run(Kind kind, String method, String stdin) {
        Path script = resolve(kind, method);
        ProcessBuilder pb = new ProcessBuilder(script.toString(), "--json");
        pb.directory(root.toFile());
        pb.environment().putAll(environment);
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            // exec failure after the X_OK check passed, e.g. a bad interpreter line
            throw new StorageException(new ErrorRecord("SCRIPT_FAILED",
                    List.of(script.toString(), "exec failed", String.valueOf(e.getMessage())), ""), null);
        }
        // Both pipes are drained on their own threads so that a chatty stderr cannot deadlock us.
        CompletableFuture<String> out = drain(p.getInputStream());
        CompletableFuture<String> err = drain(p.getErrorStream());
        writeAndClose(p.getOutputStream(), stdin);
        try {
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                ScriptRun partial = new ScriptRun(script, method, stdin, -1,
                        getQuietly(out), getQuietly(err));
                throw new StorageException(new ErrorRecord(TIMEOUT_CODE,
                        List.of(script.toString(), "no answer within " + timeoutSeconds + " s"), ""), partial);
            }
            return new ScriptRun(script, method, stdin, p.exitValue(),
                    out.get(30, TimeUnit.SECONDS), err.get(30, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IllegalStateException("interrupted while running " + script, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("could not read the output of " + script, e);
        }
    }

    /**
     * What XSS makes of a finished run (§3.2, §3.3): exit 0 → stdout is the bare result; non-zero →
     * stdout must be the error record, all fields present; anything else is SCRIPT_FAILED.
     */
    public static JsonNode interpret(ScriptRun run) {
        String script = run.script().toString();
        if (run.exitCode() == 0) {
            JsonNode value = parseOrNull(run.stdout());
            if (value == null) {
                throw new StorageException(new ErrorRecord("SCRIPT_FAILED",
                        List.of(script, "bad json on stdout", run.stdout(), run.stdout()), ""), run);
            }
            return value;
        }
        ErrorRecord error = errorRecordOrNull(parseOrNull(run.stdout()));
        if (error == null && run.exitCode() > 128) {
            // The JDK reports death by signal N as exit 128+N; XSS reports it as "signalled".
            throw new StorageException(new ErrorRecord("SCRIPT_FAILED",
                    List.of(script, "signalled", String.valueOf(run.exitCode() - 128), run.stdout(), run.stdout()),
                    ""), run);
        }
        if (error == null) {
            throw new StorageException(new ErrorRecord("SCRIPT_FAILED",
                    List.of(script, "non-zero exit and bad json on stdout", String.valueOf(run.exitCode()),
                            run.stdout(), run.stdout()), ""), run);
        }
        throw new StorageException(error, run);
    }

    /** The {@code Types.error} record of XSS's lib.ml: code, params and backtrace all mandatory (§3.3). */
    static ErrorRecord errorRecordOrNull(JsonNode node) {
        if (node == null || !node.isObject()) {
            return null;
        }
        JsonNode code = Json.field(node, "code");
        JsonNode params = Json.field(node, "params");
        JsonNode backtrace = Json.field(node, "backtrace");
        if (code == null || !code.isTextual() || params == null || !params.isArray()
                || backtrace == null || !backtrace.isObject()) {
            return null;
        }
        List<String> ps = new ArrayList<>();
        for (JsonNode p : params) {
            if (!p.isTextual()) {
                return null;
            }
            ps.add(p.asText());
        }
        JsonNode error = Json.field(backtrace, "error");
        JsonNode files = Json.field(backtrace, "files");
        JsonNode lines = Json.field(backtrace, "lines");
        if (error == null || !error.isTextual() || files == null || !files.isArray()
                || lines == null || !lines.isArray()) {
            return null;
        }
        for (JsonNode f : files) {
            if (!f.isTextual()) {
                return null;
            }
        }
        for (JsonNode l : lines) {
            if (!l.canConvertToInt()) {
                return null;
            }
        }
        return new ErrorRecord(code.asText(), ps, error.asText());
    }

    /**
     * XSS's {@code Script.path}: a case-insensitive map from lower-case file name to the real name,
     * then the file must be a regular file after following links and executable (§2.4).
     */
    public Path resolve(Kind kind, String method) {
        Path dir = pluginDir(kind);
        Map<String, Path> byLowerName = new HashMap<>();
        if (Files.isDirectory(dir)) {
            try (Stream<Path> files = Files.list(dir)) {
                files.forEach(f -> byLowerName.put(f.getFileName().toString().toLowerCase(java.util.Locale.ROOT), f));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        Path script = byLowerName.get(method.toLowerCase(java.util.Locale.ROOT));
        if (script == null || !Files.isRegularFile(script)) {
            Path shown = script != null ? script : dir.resolve(method);
            throw new StorageException(new ErrorRecord("SCRIPT_MISSING",
                    List.of(shown.toString(), "Check whether the plugin is installed and the method file exists"), ""),
                    null);
        }
        if (!Files.isExecutable(script)) {
            throw new StorageException(new ErrorRecord("SCRIPT_NOT_EXECUTABLE",
                    List.of(script.toString(), "not executable"), ""), null);
        }
        return script;
    }

    private static JsonNode parseOrNull(String text) {
        if (text.isBlank()) {
            return null;
        }
        try {
            return Json.parse(text);
        } catch (JsonProcessingException e) {
            return null;
        }
    }

    private static void writeAndClose(OutputStream stdin, String text) {
        try (stdin) {
            stdin.write(text.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // The child may exit without reading stdin (EPIPE); its exit code and stdout still decide.
        }
    }

    private static CompletableFuture<String> drain(InputStream in) {
        CompletableFuture<String> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            try (in) {
                f.complete(new String(in.readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException e) {
                f.completeExceptionally(e);
            }
        }, "xss-drain");
        t.setDaemon(true);
        t.start();
        return f;
    }

    private static String getQuietly(CompletableFuture<String> f) {
        try {
            return f.get(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "";
        } catch (ExecutionException | TimeoutException e) {
            return "";
        }
    }
}
