package org.spdksr.volume.spdk;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.spdksr.plugin.spdk.SpdkClientSettings;

/** The unit starts spdk_tgt on the socket and with the config file the back end uses by default. */
class SystemdUnitTest {

    @Test
    void unitAndBackEndAgreeOnSocketAndSavedConfig() throws Exception {
        Path unit = Path.of("..", "packaging", "systemd", "spdk-sr-tgt.service");
        String text = Files.readString(unit);
        SpdkBackendSettings defaults = SpdkBackendSettings.defaults(SpdkBackendSettings.DEFAULT_STATE_ROOT);
        String config = defaults.savedConfigFor(SpdkClientSettings.DEFAULT_SOCKET).toString();
        assertThat(text).contains("-r " + SpdkClientSettings.DEFAULT_SOCKET, "-c " + config, "--json-ignore-init-errors");
    }
}
