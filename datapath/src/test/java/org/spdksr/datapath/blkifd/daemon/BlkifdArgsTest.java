package org.spdksr.datapath.blkifd.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class BlkifdArgsTest {
    @Test
    void domainOrInstanceAndRunDirectory() {
        assertThat(BlkifdArgs.parse(List.of("--domain", "7", "--run-dir", "/r"))).contains(new BlkifdArgs("7", Path.of("/r")));
        assertThat(BlkifdArgs.parse(List.of("--run-dir", "/r", "--domain", ""))).contains(new BlkifdArgs("", Path.of("/r")));
        assertThat(BlkifdArgs.parse(List.of("--instance", "_", "--run-dir", "/r"))).contains(new BlkifdArgs("", Path.of("/r")));
        assertThat(BlkifdArgs.parse(List.of("--instance", RunDirectory.domainDirName("volumes"), "--run-dir", "/r")))
                .contains(new BlkifdArgs("volumes", Path.of("/r")));
        assertThat(BlkifdArgs.parse(List.of("--help"))).isEmpty();
    }

    @Test
    void badCommandLinesSayWhatIsWrong() {
        assertThatThrownBy(() -> BlkifdArgs.parse(List.of("--domain", "7"))).hasMessageContaining("--run-dir are required");
        assertThatThrownBy(() -> BlkifdArgs.parse(List.of("--domain"))).hasMessageContaining("--domain needs a value");
        assertThatThrownBy(() -> BlkifdArgs.parse(List.of("--domain", "7", "--instance", "8", "--run-dir", "/r")))
                .hasMessageContaining("a second time");
        assertThatThrownBy(() -> BlkifdArgs.parse(List.of("--verbose", "x"))).hasMessageContaining("unknown option --verbose");
        // Not names RunDirectory makes: "_" plus bad hex, an encoded safe name, the reserved "volumes".
        for (String bad : List.of("_zz", "_37", "volumes", "-x")) {
            assertThatThrownBy(() -> BlkifdArgs.parse(List.of("--instance", bad, "--run-dir", "/r")))
                    .as(bad).hasMessageContaining("'" + bad + "' is not the directory name of a domain");
        }
    }
}
