package org.spdksr.datapath.xen.xenstore;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.xen.sim.xenstore.SimXenstoreServer;

/**
 * The simulated xenstored tells an observer of each committed change before the writer is
 * answered: the moment a test checks "what was true when the backend wrote this".
 */
@Timeout(30)
class SimNodeObserverTest {
    @TempDir
    Path dir;

    private record Seen(int writer, String path, Optional<String> value, boolean writerAnswered) {
    }

    @Test
    void changesAreSeenAtCommitBeforeTheWriterIsAnswered() throws Exception {
        try (SimXenstoreServer server = SimXenstoreServer.start(dir);
                Xenstore xs = XenstoreClient.connectSocket(server.socket())) {
            AtomicBoolean answered = new AtomicBoolean();
            List<Seen> seen = new CopyOnWriteArrayList<>();
            try (AutoCloseable handle = server.observe((writer, path, value) ->
                    seen.add(new Seen(writer, path, value, answered.get())))) {
                xs.write("/test/a", "1");
                answered.set(true);
                answered.set(false);
                xs.transaction(tx -> {
                    tx.write("/test/b", "2");
                    tx.write("/test/c", "3");
                    return null;
                });
                answered.set(true);
                answered.set(false);
                xs.rm("/test/a");
                answered.set(true);
                assertThat(xs.readIfExists("/test/b")).contains("2"); // a read is no change
            }
            xs.write("/test/d", "after the handle was closed");
            assertThat(seen).containsExactly(
                    new Seen(0, "/test/a", Optional.of("1"), false),
                    new Seen(0, "/test/b", Optional.of("2"), false),
                    new Seen(0, "/test/c", Optional.of("3"), false),
                    new Seen(0, "/test/a", Optional.empty(), false));
        }
    }
}
