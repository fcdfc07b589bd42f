package org.spdksr.datapath.containment;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.plugin.host.AttachedSr;
import org.spdksr.plugin.host.AttachedSrs;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.protocol.SmapiException;

/** The containment rules for spdk URIs and the blkifd re-check, on real record files. */
class SrContainmentTest {
    @TempDir
    Path dir;

    private final String a = UUID.randomUUID().toString();
    private final String b = UUID.randomUUID().toString();

    private SrContainment twoSpdkSrs() throws Exception {
        AttachedSrs srs = new AttachedSrs(dir.resolve("srs"));
        srs.record(AttachedSr.spdk(a, "spdk:///state/" + a, dir.resolve(a + ".db"), "spdksr-" + a, Path.of("/s.sock")));
        srs.record(AttachedSr.spdk(b, "spdk:///state/" + b, dir.resolve(b + ".db"), "spdksr-" + b, Path.of("/s.sock")));
        return new SrContainment(srs);
    }

    private static VolumeUri.SpdkLvol lvol(String lvstore, String lvol, String sr, String key, String socket) {
        return new VolumeUri.SpdkLvol(Path.of(socket), lvstore, lvol, sr, key, false);
    }

    @Test
    void theLvolOfTheSrsOwnLvstoreIsAccepted() throws Exception {
        assertThat(twoSpdkSrs().check(lvol("spdksr-" + a, "k1", a, "k1", "/s.sock"), "t").srUuid()).isEqualTo(a);
    }

    @Test
    void anLvstoreOfAnotherSrIsRefused() throws Exception {
        assertThatThrownBy(() -> twoSpdkSrs().check(lvol("spdksr-" + b, "k1", a, "k1", "/s.sock"), "t"))
                .isInstanceOf(SmapiException.class).hasMessageContaining("is not spdksr-" + a + "/k1");
    }

    @Test
    void anLvstoreOfNoSrIsRefused() throws Exception {
        assertThatThrownBy(() -> twoSpdkSrs().check(lvol("lvs0", "k1", a, "k1", "/s.sock"), "t"))
                .isInstanceOf(SmapiException.class).hasMessageContaining("lvol lvs0/k1");
    }

    @Test
    void anLvolOtherThanTheKeysIsRefused() throws Exception {
        assertThatThrownBy(() -> twoSpdkSrs().check(lvol("spdksr-" + a, "other", a, "k1", "/s.sock"), "t"))
                .isInstanceOf(SmapiException.class);
    }

    @Test
    void anotherSpdkTgtSocketIsRefused() throws Exception {
        assertThatThrownBy(() -> twoSpdkSrs().check(lvol("spdksr-" + a, "k1", a, "k1", "/evil.sock"), "t"))
                .isInstanceOf(SmapiException.class).hasMessageContaining("/evil.sock");
    }

    @Test
    void aForgottenSrIsRefused() throws Exception {
        SrContainment containment = twoSpdkSrs();
        new AttachedSrs(dir.resolve("srs")).forget("spdk:///state/" + a);
        assertThatThrownBy(() -> containment.check(lvol("spdksr-" + a, "k1", a, "k1", "/s.sock"), "t"))
                .isInstanceOf(SmapiException.class).hasMessageContaining("not attached on this host");
    }

    @Test
    void blkifdRefusesAStateJsonFileOutsideItsSr() throws Exception {
        AttachedSrs srs = new AttachedSrs(dir.resolve("srs"));
        Path volumes = Files.createDirectories(dir.resolve("sr/volumes")).toRealPath();
        srs.record(AttachedSr.file(a, "file://" + dir.resolve("sr"), dir.resolve("sr/spdk-sr.db"), volumes));
        Path victim = Files.write(dir.resolve("victim.img"), new byte[4096]);
        var devices = new org.spdksr.datapath.blkifd.daemon.VolumeDevices(
                org.spdksr.datapath.spdk.LvolDevices.fromEnvironment(java.util.Map.of()), new SrContainment(srs));
        assertThatThrownBy(() -> devices.open(new VolumeUri.FileVolume(victim, a, "x", false), "v0", "0", false, null))
                .isInstanceOf(java.io.IOException.class).hasMessageContaining("refused volume URI");
    }
}
