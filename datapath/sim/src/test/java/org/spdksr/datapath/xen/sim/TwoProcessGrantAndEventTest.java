package org.spdksr.datapath.xen.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.XenAccessConfig;
import org.spdksr.datapath.xen.XenAccessFactory;
import org.spdksr.datapath.xen.grant.CopySegment;
import org.spdksr.datapath.xen.grant.GrantException;
import org.spdksr.datapath.xen.grant.GrantMapping;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.grant.GrantStatus;
import org.spdksr.datapath.xen.xenstore.XenstoreWatch;

/**
 * A simulated guest in a child JVM and the backend in this JVM exchange data through grants and
 * notifications, with the backend reaching Xen only through the configuration-selected factory.
 */
@Timeout(120)
class TwoProcessGrantAndEventTest {
    private static final int GUEST = 5;
    private static final Duration WAIT = Duration.ofSeconds(60);
    @TempDir
    Path root;

    private static String waitForValue(XenAccess xen, XenstoreWatch w, String path, String expected)
            throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        while (Instant.now().isBefore(deadline)) {
            Optional<String> v = xen.xenstore().readIfExists(path);
            if (v.isPresent() && v.get().equals(expected)) {
                return v.get();
            }
            // Woken by the watch, or re-read after a while in case events collapsed.
            w.next(Duration.ofSeconds(5));
        }
        throw new AssertionError(path + " never became " + expected);
    }

    @Test
    void guestAndBackendShareGrantedPagesAndNotifyEachOther() throws Exception {
        Path log = root.resolve("guest.log");
        try (SimXenHost host = SimXenHost.start(root.resolve("host"))) {
            host.createDomain(GUEST, 16, 64);
            Path hostRoot = root.resolve("host");
            Process guest = startGuestAt(hostRoot, log);
            try (XenAccess xen = XenAccessFactory.open(XenAccessConfig.sim(hostRoot))) {
                String dir = "/local/domain/" + GUEST + "/test";
                try (XenstoreWatch w = xen.xenstore().watch(dir)) {
                    waitForValue(xen, w, dir + "/state", "ready");
                }
                GrantRef ro = new GrantRef(GUEST, Integer.parseInt(xen.xenstore().readString(dir + "/ro-ref")));
                GrantRef rw = new GrantRef(GUEST, Integer.parseInt(xen.xenstore().readString(dir + "/rw-ref")));
                GrantRef other = new GrantRef(GUEST, Integer.parseInt(xen.xenstore().readString(dir + "/other-ref")));
                int port = xen.events().bindInterdomain(GUEST,
                        Integer.parseInt(xen.xenstore().readString(dir + "/port")));

                byte[] seen = new byte[4096];
                try (GrantMapping m = xen.grants().map(List.of(ro), false)) {
                    m.buffer().get(seen);
                }
                for (int i = 0; i < seen.length; i++) {
                    assertThat(seen[i]).as("byte %d of the read-only page", i).isEqualTo(SimGuestMain.pattern(i));
                }

                // Permission violations, refused as Xen refuses them.
                assertRefused(xen, ro, true, GrantStatus.GENERAL_ERROR);
                assertRefused(xen, other, false, GrantStatus.GENERAL_ERROR);
                ByteBuffer local = ByteBuffer.allocateDirect(4096);
                assertThat(xen.grants().copy(List.of(CopySegment.toGrant(local, 0, ro, 0, 16))))
                        .containsExactly(GrantStatus.GENERAL_ERROR);

                // First half through a writable mapping, second half through grant copy.
                for (int i = 0; i < 4096; i++) {
                    local.put(i, (byte) (seen[i] + 1));
                }
                try (GrantMapping m = xen.grants().map(List.of(rw), true)) {
                    ByteBuffer b = m.buffer();
                    for (int i = 0; i < 2048; i++) {
                        b.put(i, local.get(i));
                    }
                }
                assertThat(xen.grants().copy(List.of(CopySegment.toGrant(local, 2048, rw, 2048, 2048))))
                        .containsExactly(GrantStatus.OKAY);

                xen.events().notify(port);
                assertThat(awaitPort(xen, port)).as("notification back from the guest").isTrue();
                xen.events().unmask(port);
                // The guest writes its verdict before notifying, so it is there now.
                String result = xen.xenstore().readIfExists(dir + "/result").orElse("(none)");
                assertThat(result).as("guest verdict; guest log:%n%s", readLog(log)).isEqualTo("ok");
            } finally {
                boolean exited = guest.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS);
                if (!exited) {
                    guest.destroyForcibly();
                }
                assertThat(exited).as("guest exited").isTrue();
                assertThat(guest.exitValue()).as("guest exit code; guest log:%n%s", readLog(log)).isZero();
            }
        }
    }

    private Process startGuestAt(Path hostRoot, Path log) throws IOException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder pb = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                SimGuestMain.class.getName(), hostRoot.toString(), Integer.toString(GUEST), "0");
        pb.redirectErrorStream(true).redirectOutput(log.toFile());
        return pb.start();
    }

    private static boolean awaitPort(XenAccess xen, int port) throws Exception {
        Instant deadline = Instant.now().plus(WAIT);
        while (Instant.now().isBefore(deadline)) {
            int[] pending = xen.events().awaitPending(Duration.ofSeconds(1));
            if (Arrays.stream(pending).anyMatch(p -> p == port)) {
                return true;
            }
        }
        return false;
    }

    private static void assertRefused(XenAccess xen, GrantRef ref, boolean writable, GrantStatus expected)
            throws IOException {
        try {
            xen.grants().map(List.of(ref), writable).close();
            throw new AssertionError("mapping " + ref + (writable ? " writable" : "") + " was not refused");
        } catch (GrantException e) {
            assertThat(e.status()).isEqualTo(expected);
        }
    }

    private static String readLog(Path log) {
        try {
            return Files.exists(log) ? Files.readString(log) : "(no log)";
        } catch (IOException e) {
            return "(unreadable: " + e + ")";
        }
    }
}
