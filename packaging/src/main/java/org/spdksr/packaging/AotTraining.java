package org.spdksr.packaging;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.jna.Memory;
import com.sun.jna.Native;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The training run from which {@code rpm/build.sh} makes the AOT cache of the bundled runtime
 * (xcp-ng-host.md §1.6, §2.2): {@code spdk-sr-smapi --aot-training <empty directory>} run with
 * {@code -XX:AOTCacheOutput}. A cache records one JVM, and every real call is its own JVM, so this
 * one JVM goes through the calls xapi makes most (VM start and stop stat volumes, PBD plug, scans,
 * snapshots; smapiv3.md §6) on a file-backed SR in that directory, through the same
 * {@link EntryPointMain#run} path a real call takes, including one error record, then loads JNA.
 */
final class AotTraining {
    private static final String SR_UUID = "5b6c7d8e-0000-4000-8000-00000000a07c";

    private final ObjectMapper json = new ObjectMapper();
    private final PrintStream log;

    private AotTraining(PrintStream log) {
        this.log = log;
    }

    static int run(Path scratch, PrintStream log) {
        try {
            new AotTraining(log).calls(scratch);
            return 0;
        } catch (IOException | RuntimeException e) {
            log.println("spdk-sr AOT training failed: " + e.getMessage()
                    + ". The AOT cache would miss these calls; fix the entry point, then rebuild.");
            return 1;
        }
    }

    private void calls(Path scratch) throws IOException {
        Path srDir = Files.createDirectories(scratch.resolve("sr"));
        String dir = json.writeValueAsString(srDir.toString());
        call("volume", "Plugin.Query", "{\"dbg\":\"aot\"}");
        call("datapath", "Plugin.Query", "{\"dbg\":\"aot\"}");
        call("volume", "SR.probe", "{\"dbg\":\"aot\",\"configuration\":{\"path\":" + dir + "}}");
        JsonNode config = call("volume", "SR.create", "{\"dbg\":\"aot\",\"uuid\":\"" + SR_UUID
                + "\",\"configuration\":{\"path\":" + dir + "},\"name\":\"aot\",\"description\":\"training\"}");
        String sr = call("volume", "SR.attach", "{\"dbg\":\"aot\",\"configuration\":" + config + "}").asText();
        String srArg = "\"sr\":" + json.writeValueAsString(sr);
        call("volume", "SR.stat", "{\"dbg\":\"aot\"," + srArg + "}");
        String key = call("volume", "Volume.create", "{\"dbg\":\"aot\"," + srArg
                + ",\"name\":\"d\",\"description\":\"\",\"size\":1073741824,\"sharable\":false}").get("key").asText();
        String keyArg = srArg + ",\"key\":" + json.writeValueAsString(key);
        call("volume", "Volume.set", "{\"dbg\":\"aot\"," + keyArg + ",\"k\":\"vdi-type\",\"v\":\"user\"}");
        call("volume", "Volume.stat", "{\"dbg\":\"aot\"," + keyArg + "}");
        String snap = call("volume", "Volume.snapshot", "{\"dbg\":\"aot\"," + keyArg + "}").get("key").asText();
        call("volume", "Volume.clone", "{\"dbg\":\"aot\"," + srArg + ",\"key\":\"" + snap + "\"}");
        call("volume", "Volume.resize", "{\"dbg\":\"aot\"," + keyArg + ",\"new_size\":2147483648}");
        call("volume", "SR.ls", "{\"dbg\":\"aot\"," + srArg + "}");
        call("volume", "Volume.destroy", "{\"dbg\":\"aot\"," + keyArg + "}");
        expectError("volume", "Volume.stat", "{\"dbg\":\"aot\"," + keyArg + "}");
        expectError("volume", "SR.stat", "not json");
        call("volume", "SR.detach", "{\"dbg\":\"aot\"," + srArg + "}");
        call("volume", "SR.attach", "{\"dbg\":\"aot\",\"configuration\":" + config + "}");
        call("volume", "SR.destroy", "{\"dbg\":\"aot\"," + srArg + "}");
        jna();
    }

    /**
     * JNA's native library, which the datapath (Xen device access) loads: the training checks that
     * the bundled runtime can load it without java.desktop, from where the launcher points it
     * (rpm/build.sh fails if it was unpacked into java.io.tmpdir instead), and puts JNA's start-up
     * classes into the cache.
     */
    private void jna() {
        try (Memory m = new Memory(8)) {
            m.setLong(0, 1);
            log.println("aot training: JNA " + Native.VERSION + " (native " + Native.VERSION_NATIVE + ") loaded");
        }
    }

    private JsonNode call(String kind, String method, String stdin) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int status = invoke(kind, method, stdin, out);
        if (status != 0) {
            throw new IOException(kind + " " + method + " exited with " + status + ": " + out.toString(StandardCharsets.UTF_8));
        }
        return json.readTree(out.toByteArray());
    }

    private void expectError(String kind, String method, String stdin) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (invoke(kind, method, stdin, out) == 0) {
            throw new IOException(kind + " " + method + " succeeded where an error record was expected");
        }
        json.readTree(out.toByteArray());
    }

    private int invoke(String kind, String method, String stdin, ByteArrayOutputStream out) {
        InputStream saved = System.in;
        System.setIn(new ByteArrayInputStream(stdin.getBytes(StandardCharsets.UTF_8)));
        try {
            int status = EntryPointMain.run(new String[] {kind, method, "--json"}, out);
            log.println("aot training: " + kind + " " + method + " -> " + status);
            return status;
        } finally {
            System.setIn(saved);
        }
    }
}
