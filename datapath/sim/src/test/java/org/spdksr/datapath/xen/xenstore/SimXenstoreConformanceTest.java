package org.spdksr.datapath.xen.xenstore;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.xen.sim.xenstore.SimXenstoreServer;

/** The conformance suite against the simulated server. */
class SimXenstoreConformanceTest extends XenstoreConformanceTest {
    @TempDir
    static Path dir;
    private static SimXenstoreServer server;

    @BeforeAll
    static void startServer() throws IOException {
        server = SimXenstoreServer.start(dir.resolve("xenstored"));
    }

    @AfterAll
    static void stopServer() throws IOException {
        server.close();
    }

    @Override
    protected Xenstore connectPrivileged() throws IOException {
        return XenstoreClient.connectSocket(server.socket());
    }

    @Override
    protected Optional<Xenstore> connectAs(int domid) throws IOException {
        return Optional.of(XenstoreClient.connectSocket(server.socketFor(domid)));
    }
}
