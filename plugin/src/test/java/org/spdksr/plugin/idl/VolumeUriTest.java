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

    @Test
    void refusesOtherSchemesAndIncompleteUris() {
        assertThatThrownBy(() -> VolumeUri.parse("tapdisk://zfs-vol/x")).hasMessageContaining("not an spdk-sr");
        assertThatThrownBy(() -> VolumeUri.parse("spdk-sr://file/x.raw?key=k")).hasMessageContaining("'sr'");
        assertThatThrownBy(() -> VolumeUri.parse("spdk-sr://nvme/x?sr=s&key=k")).hasMessageContaining("unknown back end");
    }
}
