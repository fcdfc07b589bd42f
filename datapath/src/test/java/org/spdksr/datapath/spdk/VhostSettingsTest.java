package org.spdksr.datapath.spdk;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.spdksr.datapath.vhost.VhostDeviceOptions;

class VhostSettingsTest {
    @Test
    void hugepagesAreTheDefaultBecauseSpdkNeedsThem() {
        VhostDeviceOptions o = VhostSettings.from(Map.of());
        assertThat(o.backing()).isEqualTo(VhostDeviceOptions.Backing.HUGETLB);
        assertThat(o.regionBytes()).isEqualTo(64L << 20);
    }

    @Test
    void plainMemoryAndTheRegionSizeAreSettings() {
        VhostDeviceOptions o = VhostSettings.from(Map.of(VhostSettings.MEMORY, "Plain", VhostSettings.REGION_MIB, "128"));
        assertThat(o.backing()).isEqualTo(VhostDeviceOptions.Backing.PLAIN);
        assertThat(o.regionBytes()).isEqualTo(128L << 20);
    }

    @Test
    void aBadValueNamesTheSettingAndTheFile() {
        assertThatThrownBy(() -> VhostSettings.from(Map.of(VhostSettings.MEMORY, "huge")))
                .hasMessageContaining("SPDK_SR_VHOST_MEMORY=\"huge\"").hasMessageContaining("/etc/spdk-sr/spdk-sr.conf");
        assertThatThrownBy(() -> VhostSettings.from(Map.of(VhostSettings.REGION_MIB, "64M")))
                .hasMessageContaining("SPDK_SR_VHOST_REGION_MIB");
        assertThatThrownBy(() -> VhostSettings.from(Map.of(VhostSettings.REGION_MIB, "4096")))
                .hasMessageContaining("outside 2..1024");
    }

    @Test
    void aBadSettingFailsLvolActivationsNotBlkifd() {
        LvolDevices devices = LvolDevices.fromEnvironment(Map.of(VhostSettings.MEMORY, "huge"));
        assertThatThrownBy(() -> devices.open(new org.spdksr.plugin.idl.VolumeUri.SpdkLvol(java.nio.file.Path.of("/nonexistent.sock"),
                "lvs", "vol", "sr", "key", false), "v0", "5", false)).hasMessageContaining("SPDK_SR_VHOST_MEMORY");
    }

    @Test
    void controllerNamesAreUniquePerDomainAndFitASocketPath() {
        String guest = LvolController.nameOf("v0123456789abcdef", "17");
        assertThat(guest).isEqualTo("spdksr-v0123456789abcdef-17");
        String dom0 = LvolController.nameOf("v0123456789abcdef", "");
        String uuidLike = LvolController.nameOf("v0123456789abcdef", "u0-1b7c5a0e-77f4-4d0b-a3b8-6b7e1c2c9b11");
        assertThat(dom0).matches("spdksr-v0123456789abcdef-h[0-9a-f]{12}").isNotEqualTo(uuidLike);
        assertThat(("/run/spdk-sr/vhost/" + uuidLike).length()).isLessThan(108);
    }
}
