package org.spdksr.datapath.xen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Implementation choice by configuration only, and the rule that production code holds no simulation class. */
class XenAccessFactoryTest {
    @TempDir
    Path root;

    @Test
    void modeMustBeStatedExplicitly() {
        assertThatThrownBy(() -> XenAccessConfig.from(Map.of())).hasMessageContaining("SPDKSR_XEN_MODE is not set");
        assertThatThrownBy(() -> XenAccessConfig.from(Map.of("SPDKSR_XEN_MODE", "sim")))
                .hasMessageContaining("SPDKSR_XEN_SIM_ROOT");
        assertThatThrownBy(() -> XenAccessConfig.from(Map.of("SPDKSR_XEN_MODE", "auto")))
                .hasMessageContaining("not 'linux' or 'sim'");
        assertThat(XenAccessConfig.from(Map.of("SPDKSR_XEN_MODE", "linux"))).isEqualTo(XenAccessConfig.linux());
        assertThat(XenAccessConfig.from(Map.of("SPDKSR_XEN_MODE", "SIM", "SPDKSR_XEN_SIM_ROOT", "/x")))
                .isEqualTo(XenAccessConfig.sim(Path.of("/x")));
    }

    @Test
    void simModeWithoutTheSimulationJarSaysWhereItComesFrom() {
        // This module's tests run without spdk-sr-sim, as a host does.
        assertThatThrownBy(() -> XenAccessFactory.open(XenAccessConfig.sim(root))).isInstanceOf(IOException.class)
                .hasMessageContaining("not installed here").hasMessageContaining("SPDKSR_XEN_MODE=linux");
    }

    @Test
    void linuxModeWithoutXenFailsLoudlyInsteadOfFallingBack() {
        assumeFalse(Files.exists(Path.of("/dev/xen/gntdev")), "this host has Xen");
        assertThatThrownBy(() -> XenAccessFactory.open(XenAccessConfig.linux())).isInstanceOf(IOException.class)
                .hasMessageMatching("(?s).*(xenstored|xenbus|/dev/xen).*");
    }

    @Test
    void productionCodeNamesNoSimulationClass() throws IOException {
        Path main = Path.of("src/main/java/org/spdksr/datapath");
        assumeFalse(!Files.isDirectory(main), "sources not found from " + Path.of("").toAbsolutePath());
        List<Path> offenders;
        try (Stream<Path> files = Files.walk(main)) {
            offenders = files.filter(p -> p.toString().endsWith(".java")).filter(p -> {
                try {
                    String source = Files.readString(p);
                    return source.contains("org.spdksr.datapath.xen.sim") || source.contains("org.spdksr.datapath.sim");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList();
        }
        assertThat(offenders).as("production classes naming the simulation (it reaches them through SimulatedXen)").isEmpty();
    }
}
