package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A call killed with SIGKILL part-way (OOM killer, host crash, toolstack restart) must not leave
 * the SR locked or inconsistent: XSS never times out (smapiv3.md §3.1), so a lock that outlives
 * its process would hang every later call. The kill lands at staggered moments, so across the
 * runs it hits JVM start, argument parsing and the mutation itself; whatever it hit, the checks
 * afterwards are the same.
 */
class CrashTest {
    private static final long MIB = 1L << 20;

    private final Xapi xapi = Xapi.staged();

    @TempDir
    Path srDir;

    @Test
    void callsKilledMidwayLeaveAUsableConsistentSr() throws Exception {
        Xapi.CreatedSr created = xapi.srCreateAndPlug(Map.of("path", srDir.toString()), "crashy", "");
        String sr = created.sr();
        Volume base = xapi.vdiCreate(sr, "base", 8 * MIB);
        byte[] data = Disk.pattern(40, 65536);
        Disk.write(Disk.volumeFile(srDir, base.key()), MIB, data);
        xapi.volumeSet(sr, base.key(), "keep", "me");

        List<String> methods = List.of("Volume.create", "Volume.snapshot", "Volume.clone", "Volume.set",
                "Volume.resize", "Volume.create", "Volume.snapshot", "Volume.clone");
        for (int i = 0; i < methods.size(); i++) {
            String m = methods.get(i);
            killMidway(m, argsFor(m, sr, base.key(), i), 150L + 60L * i);
        }

        // The SR answers (no stale lock), and its view matches the files.
        Xapi.Scan scan = xapi.srScan(sr);
        Set<String> listed = scan.volumes().stream().map(Volume::key).collect(Collectors.toSet());
        assertThat(listed).contains(base.key());
        assertThat(rawFiles()).containsExactlyInAnyOrderElementsOf(
                listed.stream().map(k -> k + ".raw").collect(Collectors.toSet()));
        for (Volume v : scan.volumes()) {
            assertThat(Disk.size(Disk.volumeFile(srDir, v.key()))).as("size of %s", v.key()).isEqualTo(v.virtualSize());
        }

        Volume b = xapi.volumeStat(sr, base.key());
        assertThat(b.keys()).containsEntry("keep", "me");
        assertThat(b.virtualSize()).isGreaterThanOrEqualTo(8 * MIB);
        assertThat(Disk.read(Disk.volumeFile(srDir, base.key()), MIB, data.length)).isEqualTo(data);

        // Mutations work again, and SR.destroy still removes everything, leftovers included.
        Volume after = xapi.vdiCreate(sr, "after the crashes", MIB);
        assertThat(xapi.vdiSnapshot(sr, after.key()).volume().readWrite()).isFalse();
        xapi.pbdUnplug(sr);
        xapi.srDestroy(created.deviceConfig());
        try (Stream<Path> left = Files.list(srDir)) {
            assertThat(left).isEmpty();
        }
    }

    private static Object[] argsFor(String method, String sr, String key, int i) {
        switch (method) {
            case "Volume.create":
                return new Object[] {"sr", sr, "name", "killed-" + i, "description", "", "size", 4 * MIB,
                        "sharable", false};
            case "Volume.set":
                return new Object[] {"sr", sr, "key", key, "k", "killed-" + i, "v", "x"};
            case "Volume.resize":
                return new Object[] {"sr", sr, "key", key, "new_size", (16 + i) * MIB};
            default:
                return new Object[] {"sr", sr, "key", key};
        }
    }

    /** Starts the call as XSS would, then SIGKILLs it (and anything it spawned) after a delay. */
    private void killMidway(String method, Object[] args, long delayMillis) throws Exception {
        Path script = xapi.xss().resolve(XapiStorageScript.Kind.VOLUME, method);
        Process p = new ProcessBuilder(script.toString(), "--json")
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try (OutputStream in = p.getOutputStream()) {
            in.write(Json.compact(Xapi.args(method, args)).getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // already gone
        }
        Thread.sleep(delayMillis);
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }

    private Set<String> rawFiles() throws IOException {
        try (Stream<Path> s = Files.list(Disk.volumesDir(srDir))) {
            return s.map(f -> f.getFileName().toString()).filter(n -> n.endsWith(".raw"))
                    .collect(Collectors.toSet());
        }
    }
}
