package org.spdksr.datapath.attach;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.blkifd.daemon.RunDirectory;

class VolumeRecordTest {
    @TempDir
    Path dir;

    @Test
    void claimsAndReleasesAreIdempotentAndAnUnusedRecordDisappears() throws Exception {
        Path file = dir.resolve("v.json");
        VolumeRecord r = VolumeRecord.empty().claim("7", false).claim("7", false).claim("u0-a", true);
        assertThat(r.readWrite()).isEqualTo("7");
        assertThat(r.readOnly()).containsExactly("u0-a");
        r.write(file);
        assertThat(VolumeRecord.read(file)).isEqualTo(r);

        VolumeRecord downgraded = r.claim("7", true);
        assertThat(downgraded.readWrite()).isNull();
        assertThat(downgraded.readOnly()).containsExactly("7", "u0-a");

        VolumeRecord released = r.release("7").release("7").release("u0-a");
        assertThat(released.unused()).isTrue();
        released.write(file);
        assertThat(Files.exists(file)).isFalse();
        assertThat(VolumeRecord.read(file)).isEqualTo(VolumeRecord.empty());

        VolumeRecord np = VolumeRecord.empty().withNonPersistent(true);
        assertThat(np.unused()).isFalse();
        assertThat(np.activeAnywhere()).isFalse();
    }

    @Test
    void domainDirectoryNamesAreSafeAndDistinct() {
        assertThat(RunDirectory.domainDirName("7")).isEqualTo("7");
        assertThat(RunDirectory.domainDirName("u0-vbd_0_xvdb")).isEqualTo("u0-vbd_0_xvdb");
        assertThat(RunDirectory.domainDirName("")).isEqualTo("_");
        assertThat(RunDirectory.domainDirName("..")).startsWith("_").doesNotContain("/");
        assertThat(RunDirectory.domainDirName("a/b")).startsWith("_").doesNotContain("/");
        assertThat(RunDirectory.domainDirName("volumes")).isNotEqualTo("volumes");
        assertThat(RunDirectory.domainDirName("_61")).isNotEqualTo(RunDirectory.domainDirName("a"));
    }
}
