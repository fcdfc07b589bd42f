package org.spdksr.xenstage;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The installed SMAPIv3 entry points, called as xapi-storage-script calls them (smapiv3.md §3):
 * the method's file in the plugin directory, run with {@code --json}, its arguments as one JSON
 * object on stdin; exit status 0 and the result on stdout, or an error record on stdout.
 */
final class EntryPoints {
    /** The volume plugin is the SR type's; the datapath plugin is named after its URI scheme. */
    private static final String VOLUME_PLUGIN = "org.xen.xapi.storage.spdk";
    private static final String DATAPATH_PLUGIN = "spdk-sr";
    private static final long TIMEOUT_SECONDS = 120;

    private final Path root;
    private final ObjectMapper json = new ObjectMapper();
    private int calls;

    /** @param root where the RPM was unpacked ({@code /} in dom0) */
    EntryPoints(Path root) {
        this.root = root;
    }

    JsonNode volume(String method, Object... namesAndValues) throws IOException, InterruptedException {
        return call("volume", method, namesAndValues);
    }

    JsonNode datapath(String method, Object... namesAndValues) throws IOException, InterruptedException {
        return call("datapath", method, namesAndValues);
    }

    ObjectMapper json() {
        return json;
    }

    private JsonNode call(String kind, String method, Object... namesAndValues) throws IOException, InterruptedException {
        ObjectNode args = json.createObjectNode().put("dbg", "xen-stage-" + (++calls) + "-" + method);
        for (int i = 0; i < namesAndValues.length; i += 2) {
            args.set((String) namesAndValues[i], json.valueToTree(namesAndValues[i + 1]));
        }
        Path script = root.resolve("usr/libexec/xapi-storage-script").resolve(kind)
                .resolve(kind.equals("volume") ? VOLUME_PLUGIN : DATAPATH_PLUGIN).resolve(method);
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder(script.toString(), "--json").start();
        CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(p, true));
        CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(p, false));
        try (OutputStream in = p.getOutputStream()) {
            in.write(json.writeValueAsBytes(args));
        }
        if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new StageFailure(method + " did not answer within " + TIMEOUT_SECONDS + " s");
        }
        String stdout = new String(out.join(), StandardCharsets.UTF_8).trim();
        String stderr = new String(err.join(), StandardCharsets.UTF_8).trim();
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        if (p.exitValue() != 0) {
            Stage.log(method + " failed (exit " + p.exitValue() + ", " + ms + " ms): " + stdout);
            if (!stderr.isEmpty()) {
                Stage.log(method + " stderr: " + lastLines(stderr, 15));
            }
            throw new StageFailure(method + " " + args + " failed: " + stdout);
        }
        Stage.log(method + " ok in " + ms + " ms");
        return stdout.isEmpty() ? json.nullNode() : json.readTree(stdout);
    }

    private static byte[] readAll(Process p, boolean stdout) {
        try {
            return (stdout ? p.getInputStream() : p.getErrorStream()).readAllBytes();
        } catch (IOException e) {
            return new byte[0];
        }
    }

    private static String lastLines(String text, int n) {
        String[] lines = text.split("\n");
        StringBuilder b = new StringBuilder();
        for (int i = Math.max(0, lines.length - n); i < lines.length; i++) {
            b.append("\n    ").append(lines[i]);
        }
        return b.toString();
    }
}
