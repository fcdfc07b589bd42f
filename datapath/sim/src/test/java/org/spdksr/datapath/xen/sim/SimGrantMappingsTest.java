package org.spdksr.datapath.xen.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.xen.grant.GrantMapping;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.sim.grant.SimGrantAccess;

/**
 * The simulation's count of live grant mappings, per guest domain, as any process sees it: made
 * by a map, gone with its unmap, not made by a refused map, and gone when the mapping process is
 * killed (as gntdev releases a dead process's mappings).
 */
@Timeout(60)
class SimGrantMappingsTest {
    private static final int GUEST = 4;
    private static final int OTHER = 5;
    @TempDir
    Path root;

    @Test
    void aMappingCountsForItsDomainUntilItIsUnmapped() throws Exception {
        try (SimXenHost host = SimXenHost.start(root);
                SimGrantAccess backend = new SimGrantAccess(host.layout(), 0)) {
            host.createDomain(GUEST, 16, 64);
            host.createDomain(OTHER, 16, 64);
            try (SimDomain guest = SimDomain.attach(host.layout(), GUEST);
                    SimDomain other = SimDomain.attach(host.layout(), OTHER)) {
                GrantRef a = new GrantRef(GUEST, guest.grant(1, 0, false));
                GrantRef b = new GrantRef(GUEST, guest.grant(2, 0, true));
                GrantRef c = new GrantRef(OTHER, other.grant(1, 0, false));
                assertThat(host.liveMappings(GUEST)).isEmpty();
                GrantMapping two = backend.map(List.of(a, b), false);
                GrantMapping mixed = backend.map(List.of(a, c), false);
                assertThat(host.liveMappings(GUEST)).hasSize(2);
                assertThat(host.liveMappings(OTHER)).hasSize(1);
                assertThat(backend.liveMappings(GUEST)).hasSize(2);
                assertThat(host.liveMappings(GUEST).get(0)).contains("mapped by pid " + ProcessHandle.current().pid());
                two.close();
                two.close(); // a second close unmaps nothing more
                assertThat(host.liveMappings(GUEST)).hasSize(1);
                mixed.close();
                assertThat(host.liveMappings(GUEST)).isEmpty();
                assertThat(host.liveMappings(OTHER)).isEmpty();
                // A refused map leaves no record: b is read-only.
                try {
                    backend.map(List.of(a, b), true).close();
                    throw new AssertionError("a writable map of a read-only grant was not refused");
                } catch (org.spdksr.datapath.xen.grant.GrantException expected) {
                    assertThat(host.liveMappings(GUEST)).isEmpty();
                }
            }
        }
    }

    @Test
    void theMappingsOfAKilledProcessDoNotCount() throws Exception {
        try (SimXenHost host = SimXenHost.start(root)) {
            host.createDomain(GUEST, 16, 64);
            try (SimDomain guest = SimDomain.attach(host.layout(), GUEST)) {
                int ref = guest.grant(3, 0, false);
                String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
                Process mapper = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                        SimMapperMain.class.getName(), root.toString(), Integer.toString(GUEST),
                        Integer.toString(ref)).redirectErrorStream(true).start();
                try {
                    BufferedReader out = new BufferedReader(new InputStreamReader(mapper.getInputStream(),
                            StandardCharsets.UTF_8));
                    String line;
                    while ((line = out.readLine()) != null && !line.startsWith("mapped")) {
                        // the child's log lines
                    }
                    assertThat(line).as("the mapper process's report").isEqualTo("mapped 1");
                    assertThat(host.liveMappings(GUEST)).as("mapped by the other process").hasSize(1)
                            .allMatch(s -> s.contains("pid " + mapper.pid()));
                } finally {
                    mapper.destroyForcibly(); // SIGKILL: no unmap, no cleanup of its own
                }
                assertThat(mapper.waitFor(30, TimeUnit.SECONDS)).isTrue();
                assertThat(host.liveMappings(GUEST)).as("after kill -9 of the mapping process").isEmpty();
            }
        }
    }
}
