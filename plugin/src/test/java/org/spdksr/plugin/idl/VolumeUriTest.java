package org.spdksr.plugin.idl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.AlphaChars;
import net.jqwik.api.constraints.Chars;
import net.jqwik.api.constraints.NumericChars;
import net.jqwik.api.constraints.StringLength;
import org.junit.jupiter.api.Test;

class VolumeUriTest {

    @Property
    void fileVolumeUrisRoundTrip(
            @ForAll @AlphaChars @NumericChars @Chars({' ', '%', '#', '?', '&', '=', 'é', '+'}) @StringLength(min = 1, max = 20)
                    String directory,
            @ForAll boolean readOnly) {
        VolumeUri uri = new VolumeUri.FileVolume(Path.of("/srv", directory, "volumes", "k1.raw"), "sr-1", "k1", readOnly);
        String text = uri.format();
        assertThat(text).startsWith("spdk-sr://file/");
        assertThat(VolumeUri.parse(text)).isEqualTo(uri);
    }

    @Property
    void spdkLvolUrisRoundTrip(
            @ForAll @AlphaChars @NumericChars @Chars({' ', '%', '#', '?', '&', '=', 'é', '+', '-', '_'}) @StringLength(min = 1, max = 20)
                    String name,
            @ForAll boolean readOnly) {
        VolumeUri uri = new VolumeUri.SpdkLvol(Path.of("/var/tmp", name, "spdk.sock"), "spdksr-" + name, name,
                "sr-1", "k&" + name, readOnly);
        String text = uri.format();
        assertThat(text).startsWith("spdk-sr://spdk/");
        assertThat(VolumeUri.parse(text)).isEqualTo(uri);
    }

    @Test
    void spdkLvolUriIsReadable() {
        VolumeUri.SpdkLvol uri = new VolumeUri.SpdkLvol(Path.of("/var/tmp/spdk.sock"), "spdksr-1", "k1", "s1", "k1", true);
        assertThat(uri.format()).isEqualTo("spdk-sr://spdk/spdksr-1/k1?socket=%2Fvar%2Ftmp%2Fspdk.sock&sr=s1&key=k1&ro=true");
        assertThat(uri.bdevAlias()).isEqualTo("spdksr-1/k1");
        assertThatThrownBy(() -> VolumeUri.parse("spdk-sr://spdk/a/b/c?socket=/s&sr=s&key=k"))
                .hasMessageContaining("/<lvstore>/<lvol>");
        assertThatThrownBy(() -> VolumeUri.parse("spdk-sr://spdk/a/b?sr=s&key=k")).hasMessageContaining("'socket'");
    }

    @Test
    void refusesOtherSchemesAndIncompleteUris() {
        assertThatThrownBy(() -> VolumeUri.parse("tapdisk://zfs-vol/x")).hasMessageContaining("not an spdk-sr");
        assertThatThrownBy(() -> VolumeUri.parse("spdk-sr://file/x.raw?key=k")).hasMessageContaining("'sr'");
        assertThatThrownBy(() -> VolumeUri.parse("spdk-sr://nvme/x?sr=s&key=k")).hasMessageContaining("unknown back end");
    }
}
