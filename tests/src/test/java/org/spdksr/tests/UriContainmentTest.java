package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 19 item 1: the datapath serves nothing outside the SRs attached on this host. Each test
 * hands the staged Datapath entry points (through the xapi-storage-script emulation) a URI an
 * attacker could write, and checks that attach, activate and open are refused with an error
 * record and that the victim file outside the SR is untouched. Before the fix every one of these
 * URIs was attached and activated and its file served over NBD.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class UriContainmentTest {
    private static final String DOMAIN = "0";
    private static final byte[] VICTIM_BYTES = "victim data, must not change".getBytes();

    private Path base;
    private DatapathLab lab;
    private Xapi.CreatedSr sr;
    private Volume volume;
    private Path srDir;
    private Path victim;

    @BeforeAll
    void srWithOneVolume(@TempDir Path base) throws Exception {
        this.base = base;
        lab = new DatapathLab(base);
        sr = lab.newSr("a");
        srDir = Path.of(sr.deviceConfig().get("path")).toRealPath();
        volume = lab.xapi.vdiCreate(sr.sr(), "disk", 1 << 20);
        victim = Files.write(base.resolve("victim.img"), Arrays.copyOf(VICTIM_BYTES, 1 << 20));
    }

    @AfterAll
    void close() throws Exception {
        lab.close();
    }

    private String fileUri(String path, String srUuid, String key) {
        return "spdk-sr://file" + path + "?sr=" + srUuid + "&key=" + key + "&ro=false";
    }

    /**
     * Datapath.attach refuses the URI; nothing is recorded; the victim is intact. (One call per
     * URI keeps the class fast: every call is a JVM; activate and open share the check, and
     * {@link #activateAndOpenRefuseToo} shows they apply it.)
     */
    private void assertRefused(String uri, String expectedInMessage) throws Exception {
        assertThatThrownBy(() -> lab.xapi.vdiAttach(uri, DOMAIN)).isInstanceOf(StorageException.class)
                .satisfies(e -> assertThat(((StorageException) e).error().params().toString())
                        .contains(expectedInMessage));
        assertUntouched();
    }

    private void assertUntouched() throws Exception {
        assertThat(Files.exists(lab.domainDir(DOMAIN).resolve("state.json"))).as("state.json").isFalse();
        assertThat(lab.blkifd(DOMAIN)).as("blkifd started for a refused URI").isEmpty();
        assertThat(Arrays.copyOf(Files.readAllBytes(victim), VICTIM_BYTES.length)).isEqualTo(VICTIM_BYTES);
    }

    @Test
    void anAbsolutePathOutsideEverySrIsRefused() throws Exception {
        assertRefused(fileUri(victim.toString(), sr.uuid(), "x"), "Volume_outside_SR");
    }

    @Test
    void activateAndOpenRefuseToo() throws Exception {
        String uri = fileUri(victim.toString(), sr.uuid(), "x");
        assertThatThrownBy(() -> lab.xapi.vdiActivate(uri, DOMAIN)).isInstanceOf(StorageException.class)
                .hasMessageContaining("Volume_outside_SR");
        assertThatThrownBy(() -> lab.xapi.vdiEpochBegin(uri, false)).isInstanceOf(StorageException.class)
                .hasMessageContaining("Volume_outside_SR");
        assertUntouched();
    }

    @Test
    void dotDotSegmentsOutOfTheVolumesDirectoryAreRefused() throws Exception {
        assertRefused(fileUri(srDir + "/volumes/../../" + base.relativize(victim), sr.uuid(), "x"),
                "Volume_outside_SR");
        // with the key of a real volume, whose file the path reaches through a detour
        assertRefused(fileUri(srDir + "/volumes/../volumes/" + volume.key() + ".raw", sr.uuid(), volume.key()),
                "Volume_outside_SR");
    }

    @Test
    void urlEncodedDotDotIsRefused() throws Exception {
        assertRefused(fileUri(srDir + "/volumes/%2e%2e/%2E%2E/" + base.relativize(victim), sr.uuid(), "x"),
                "Volume_outside_SR");
    }

    @Test
    void aSymlinkInsideVolumesPointingOutsideIsRefused() throws Exception {
        String key = UUID.randomUUID().toString();
        Path link = Files.createSymbolicLink(srDir.resolve("volumes").resolve(key + ".raw"), victim);
        try {
            assertRefused(fileUri(link.toString(), sr.uuid(), key), "Volume_does_not_exist");
        } finally {
            Files.delete(link);
        }
    }

    @Test
    void aSymlinkedSrDirectoryComponentIsRefused() throws Exception {
        Path linkToSr = Files.createSymbolicLink(base.resolve("link-to-sr"), srDir);
        assertRefused(fileUri(linkToSr + "/volumes/" + volume.key() + ".raw", sr.uuid(), volume.key()),
                "Volume_outside_SR");
    }

    @Test
    void aFileInTheSrThatItsMetadataDoesNotListIsRefused() throws Exception {
        String key = UUID.randomUUID().toString();
        Path planted = Files.write(srDir.resolve("volumes").resolve(key + ".raw"), new byte[4096]);
        try {
            assertRefused(fileUri(planted.toString(), sr.uuid(), key), "is not in the metadata");
        } finally {
            Files.delete(planted);
        }
    }

    @Test
    void anSrNotAttachedOnThisHostIsRefused() throws Exception {
        String other = UUID.randomUUID().toString();
        assertRefused(fileUri(srDir + "/volumes/" + volume.key() + ".raw", other, volume.key()), "Sr_not_attached");
        // not a UUID at all: it must not become part of a path either
        assertRefused(fileUri(srDir + "/volumes/" + volume.key() + ".raw", "..%2F..%2Fetc", volume.key()),
                "Sr_not_attached");
    }

    @Test
    void aDetachedAndThenDestroyedSrIsRefused() throws Exception {
        Xapi.CreatedSr gone = lab.newSr("gone");
        Volume v = lab.xapi.vdiCreate(gone.sr(), "disk", 1 << 20);
        String uri = v.uri().get(0);
        lab.xapi.pbdUnplug(gone.sr());
        assertRefused(uri, "Sr_not_attached");
        lab.xapi.pbdPlug(gone.deviceConfig());
        lab.xapi.srDestroy(gone.deviceConfig());
        assertRefused(uri, "Sr_not_attached");
    }

    @Test
    void spdkUrisNamingNoLvstoreOfTheSrAreRefused() throws Exception {
        // the named SR is a file SR: it has no lvstore at all
        assertRefused("spdk-sr://spdk/spdksr-" + sr.uuid() + "/" + volume.key() + "?socket=%2Fvar%2Ftmp%2Fspdk.sock&sr="
                + sr.uuid() + "&key=" + volume.key() + "&ro=false", "Volume_outside_SR");
        // an SR that is not attached here
        String other = UUID.randomUUID().toString();
        assertRefused("spdk-sr://spdk/spdksr-" + other + "/k?socket=%2Fvar%2Ftmp%2Fspdk.sock&sr=" + other
                + "&key=k&ro=false", "Sr_not_attached");
    }

    @Test
    void theUriFromVolumeStatStillAttachesAndActivates() throws Exception {
        String domain = "u0_containment";
        String uri = lab.xapi.datapathUri(sr.sr(), volume.key());
        lab.xapi.vdiAttach(uri, domain);
        lab.xapi.vdiActivate(uri, domain);
        lab.xapi.vdiDeactivate(uri, domain);
        lab.xapi.vdiDetach(uri, domain);
    }
}
