package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.OffsetDateTime;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The XenAPI operations of smapiv3.md §6 driven through the xapi-storage-script emulation against
 * the staged install tree, with the on-disk facts of the file back end checked alongside.
 */
class XapiSequencesTest {
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;
    private static final long TIB = 1L << 40;

    private final Xapi xapi = Xapi.staged();

    @TempDir
    Path srDir;

    private Xapi.CreatedSr newSr() {
        return xapi.srCreateAndPlug(Map.of("path", srDir.toString()), "test SR", "made by XapiSequencesTest");
    }

    @Test
    void pluginQueryRegistersTheSpdkTypeAndTheDatapathScheme() {
        QueryResult q = xapi.query();
        // §2.2: the SR type is the last component of org.xen.xapi.storage.spdk, lower case.
        assertThat(q.plugin()).isEqualTo("spdk");
        assertThat(q.requiredApiVersion()).isEqualTo("5.0");
        assertThat(q.features()).isNotEmpty();
        assertThat(q.configuration()).containsKey("path");
        assertThat(q.configuration().get("path")).isNotBlank();

        // §2.1: a datapath directory is keyed by the URI scheme it serves.
        assertThat(xapi.datapathQuery().plugin()).isEqualTo("spdk-sr");

        assertThat(xapi.volumeCall("Plugin.diagnostics").isTextual()).isTrue();
    }

    @Test
    void srCreateReturnsTheDeviceConfigAndPbdPlugStatsTheSr() throws Exception {
        Xapi.CreatedSr sr = newSr();

        assertThat(sr.deviceConfig()).containsEntry("sr_uuid", sr.uuid()).containsKey("path");
        assertThat(Files.isSameFile(Path.of(sr.deviceConfig().get("path")), srDir)).isTrue();

        SrStat stat = sr.attached().stat();
        assertThat(stat.sr()).isEqualTo(sr.sr());
        assertThat(stat.uuid()).isEqualTo(sr.uuid());
        assertThat(stat.name()).isEqualTo("test SR");
        assertThat(stat.description()).isEqualTo("made by XapiSequencesTest");
        assertThat(stat.healthy()).as("health %s", stat.health()).isTrue();
        assertThat(stat.totalSpace()).isPositive();
        assertThat(stat.freeSpace()).isBetween(0L, stat.totalSpace());
        assertThat(stat.clustered()).isFalse();

        // §6: PBD.plug happens on every boot, so SR.attach is idempotent with a stable handle.
        assertThat(xapi.pbdPlug(sr.deviceConfig()).sr()).isEqualTo(sr.sr());
    }

    @Test
    void pbdUnplugIsIdempotentAndReplugFindsTheVolumesAgain() {
        Xapi.CreatedSr sr = newSr();
        Volume v = xapi.vdiCreate(sr.sr(), "survivor", MIB);
        xapi.volumeSet(sr.sr(), v.key(), "kept", "yes");

        xapi.pbdUnplug(sr.sr());
        xapi.pbdUnplug(sr.sr());

        Xapi.AttachedSr again = xapi.pbdPlug(sr.deviceConfig());
        assertThat(again.sr()).isEqualTo(sr.sr());
        Volume back = xapi.srScan(again.sr()).volume(v.key());
        assertThat(back).isNotNull();
        assertThat(back.keys()).containsEntry("kept", "yes").containsEntry("vdi-type", "user");
    }

    @Test
    void srProbeTellsAnSrDirectoryFromAnEmptyOne(@TempDir Path emptyDir) {
        Xapi.CreatedSr sr = newSr();

        List<ProbeResult> found = xapi.srProbe(Map.of("path", srDir.toString()));
        assertThat(found).anySatisfy(r -> {
            assertThat(r.sr()).isNotNull();
            assertThat(r.sr().uuid()).isEqualTo(sr.uuid());
            assertThat(r.configuration()).containsEntry("sr_uuid", sr.uuid());
            assertThat(r.complete()).isTrue();
        });

        List<ProbeResult> none = xapi.srProbe(Map.of("path", emptyDir.toString()));
        assertThat(none).allSatisfy(r -> assertThat(r.sr()).isNull());
    }

    @Test
    void vdiCreateResizeAndDestroy() throws Exception {
        Xapi.CreatedSr sr = newSr();
        long asked = MIB + 1;
        Volume v = xapi.vdiCreate(sr.sr(), "disk0", "first disk", asked, false);

        // §4.5: size is a minimum; the file back end rounds up to a multiple of 512.
        assertThat(v.virtualSize()).isEqualTo(MIB + 512);
        assertThat(v.readWrite()).isTrue();
        assertThat(v.sharable()).isFalse();
        assertThat(v.name()).isEqualTo("disk0");
        assertThat(v.description()).isEqualTo("first disk");
        assertThat(UUID.fromString(v.uuid()).toString()).isEqualToIgnoringCase(v.uuid());
        assertThat(v.uri()).hasSize(1);
        assertThat(URI.create(v.uri().get(0)).getScheme()).isEqualTo("spdk-sr");

        Path file = Disk.volumeFile(srDir, v.key());
        assertThat(file).isRegularFile();
        assertThat(Disk.size(file)).isEqualTo(v.virtualSize());
        // Thin provisioning: physical_utilisation follows the blocks really written.
        assertThat(v.physicalUtilisation()).isBetween(0L, 64 * 1024L);
        Disk.write(file, 0, Disk.pattern(5, 256 * 1024));
        assertThat(xapi.volumeStat(sr.sr(), v.key()).physicalUtilisation())
                .isBetween(256 * 1024L, Disk.allocatedBytes(file));

        Xapi.Scan scan = xapi.srScan(sr.sr());
        assertThat(scan.volume(v.key())).isNotNull();
        assertThat(scan.volume(v.key()).keys()).containsEntry("vdi-type", "user");
        assertThat(scan.volume(v.key()).uuid()).isEqualTo(v.uuid());

        Volume grown = xapi.vdiResize(sr.sr(), v.key(), 3 * MIB + 7);
        assertThat(grown.virtualSize()).isEqualTo(3 * MIB + 512);
        assertThat(Disk.size(file)).isEqualTo(grown.virtualSize());
        assertThat(grown.key()).isEqualTo(v.key());
        assertThat(grown.uuid()).isEqualTo(v.uuid());

        xapi.vdiDestroy(sr.sr(), v.key());
        assertThat(file).doesNotExist();
        assertThat(xapi.srScan(sr.sr()).volume(v.key())).isNull();
        assertThatThrownBy(() -> xapi.volumeStat(sr.sr(), v.key()))
                .isInstanceOfSatisfying(StorageException.class, e -> {
                    assertThat(e.code()).isEqualTo("SR_BACKEND_FAILURE");
                    assertThat(e.error().param(0)).isEqualTo("Volume_does_not_exist");
                });
        // vdi-destroy may be retried by xapi after a failure: destroying a missing volume succeeds.
        xapi.vdiDestroy(sr.sr(), v.key());
    }

    @Test
    void sharableIsRecorded() {
        Xapi.CreatedSr sr = newSr();
        Volume v = xapi.vdiCreate(sr.sr(), "shared", "", MIB, true);
        assertThat(v.sharable()).isTrue();
        assertThat(xapi.volumeStat(sr.sr(), v.key()).sharable()).isTrue();
    }

    @Test
    void snapshotCopiesTheDataAndCarriesTheKeysXapiWrites() throws Exception {
        Xapi.CreatedSr sr = newSr();
        Volume src = xapi.vdiCreate(sr.sr(), "source", 4 * MIB);
        Path srcFile = Disk.volumeFile(srDir, src.key());
        byte[] head = Disk.pattern(1, 4096);
        byte[] tail = Disk.pattern(2, 4096);
        Disk.write(srcFile, 0, head);
        Disk.write(srcFile, 4 * MIB - 4096, tail);

        Xapi.Snapshot snap = xapi.vdiSnapshot(sr.sr(), src.key(), "user", "content-" + UUID.randomUUID());
        assertThat(snap.key()).isNotEqualTo(src.key());
        assertThat(snap.volume().readWrite()).isFalse();
        assertThat(snap.volume().virtualSize()).isEqualTo(src.virtualSize());
        assertThat(snap.volume().uuid()).isNotEqualTo(src.uuid());
        assertThat(URI.create(snap.volume().uri().get(0)).getScheme()).isEqualTo("spdk-sr");

        Path snapFile = Disk.volumeFile(srDir, snap.key());
        assertThat(Disk.read(snapFile, 0, 4096)).isEqualTo(head);
        assertThat(Disk.read(snapFile, 4 * MIB - 4096, 4096)).isEqualTo(tail);
        assertThat(Disk.read(snapFile, MIB, 4096)).containsOnly((byte) 0);

        // §5: what XSS wrote must come back from both Volume.stat and SR.ls, or xapi loses
        // the snapshot relationship on the next scan.
        Volume stat = xapi.volumeStat(sr.sr(), snap.key());
        assertThat(stat.keys()).containsAllEntriesOf(snap.xapiKeys());
        assertThat(stat.readWrite()).isFalse();
        assertThat(xapi.srScan(sr.sr()).volume(snap.key()).keys()).containsAllEntriesOf(snap.xapiKeys());
        assertThat(OffsetDateTime.parse(stat.keys().get("snapshot_time"))).isNotNull();
        assertThat(Boolean.parseBoolean(stat.keys().get("is_a_snapshot"))).isTrue();

        // The snapshot is a point-in-time copy: later writes to the source do not reach it.
        Disk.write(srcFile, 0, Disk.pattern(3, 4096));
        assertThat(Disk.read(snapFile, 0, 4096)).isEqualTo(head);
        // ... and the source keeps its own keys, untouched by the snapshot's.
        assertThat(xapi.volumeStat(sr.sr(), src.key()).keys()).doesNotContainKey("is_a_snapshot");

        // A snapshot outlives its source (xapi may destroy the VDI and keep its snapshots).
        xapi.vdiDestroy(sr.sr(), src.key());
        assertThat(Disk.read(snapFile, 0, 4096)).isEqualTo(head);
        assertThat(xapi.volumeStat(sr.sr(), snap.key()).keys()).containsAllEntriesOf(snap.xapiKeys());
        assertThat(xapi.srScan(sr.sr()).volumes()).extracting(Volume::key).containsExactly(snap.key());
    }

    @Test
    void cloneOfAVolumeAndOfASnapshotIsWritableAndIndependent() throws Exception {
        Xapi.CreatedSr sr = newSr();
        Volume src = xapi.vdiCreate(sr.sr(), "base", 2 * MIB);
        Path srcFile = Disk.volumeFile(srDir, src.key());
        byte[] data = Disk.pattern(10, 8192);
        Disk.write(srcFile, 512 * 1024, data);

        Volume clone = xapi.vdiClone(sr.sr(), src.key());
        assertThat(clone.readWrite()).isTrue();
        assertThat(clone.key()).isNotEqualTo(src.key());
        assertThat(clone.virtualSize()).isEqualTo(src.virtualSize());
        Path cloneFile = Disk.volumeFile(srDir, clone.key());
        assertThat(Disk.read(cloneFile, 512 * 1024, 8192)).isEqualTo(data);

        byte[] cloneWrite = Disk.pattern(11, 8192);
        Disk.write(cloneFile, 512 * 1024, cloneWrite);
        assertThat(Disk.read(srcFile, 512 * 1024, 8192)).isEqualTo(data);
        byte[] srcWrite = Disk.pattern(12, 4096);
        Disk.write(srcFile, 0, srcWrite);
        assertThat(Disk.read(cloneFile, 0, 4096)).containsOnly((byte) 0);

        Xapi.Snapshot snap = xapi.vdiSnapshot(sr.sr(), src.key());
        Volume fromSnap = xapi.vdiClone(sr.sr(), snap.key());
        assertThat(fromSnap.readWrite()).isTrue();
        assertThat(Disk.read(Disk.volumeFile(srDir, fromSnap.key()), 0, 4096)).isEqualTo(srcWrite);
        assertThat(xapi.volumeStat(sr.sr(), fromSnap.key()).readWrite()).isTrue();
        // Clones get fresh identities, and each volume its own URI (the datapath opens a volume
        // from its URI alone, §2.5).
        assertThat(List.of(src.uuid(), clone.uuid(), snap.volume().uuid(), fromSnap.uuid())).doesNotHaveDuplicates();
        List<Volume> all = xapi.srScan(sr.sr()).volumes();
        assertThat(all).hasSize(4);
        assertThat(all).flatExtracting(Volume::uri).doesNotHaveDuplicates();
        for (Volume v : all) {
            assertThat(xapi.volumeStat(sr.sr(), v.key()).uri()).as("URI of %s is stable", v.key()).isEqualTo(v.uri());
        }
    }

    @Test
    void snapshotAndCloneKeepAnEightGibVolumeSparse() throws Exception {
        Xapi.CreatedSr sr = newSr();
        Volume src = xapi.vdiCreate(sr.sr(), "big", 8 * GIB);
        Disk.write(Disk.volumeFile(srDir, src.key()), 5 * GIB, Disk.pattern(20, 65536));

        Xapi.Snapshot snap = xapi.vdiSnapshot(sr.sr(), src.key());
        Volume clone = xapi.vdiClone(sr.sr(), src.key());
        for (String key : List.of(snap.key(), clone.key())) {
            Path f = Disk.volumeFile(srDir, key);
            assertThat(Disk.size(f)).isEqualTo(8 * GIB);
            assertThat(Disk.allocatedBytes(f)).as("allocated bytes of %s", f).isLessThan(64 * MIB);
            assertThat(Disk.read(f, 5 * GIB, 65536)).isEqualTo(Disk.pattern(20, 65536));
        }
    }

    @Test
    void keysRoundTripExactly() {
        Xapi.CreatedSr sr = newSr();
        Volume v = xapi.vdiCreate(sr.sr(), "keys", MIB);
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put("vdi-type", "user");
        keys.put("content_id", UUID.randomUUID().toString());
        keys.put("_sm_config_host_OpaqueRef:1", "RW");
        keys.put("unicode-clé-日本", "värde ✓ 𝄞");
        keys.put("with=equals", "a=b=c");
        keys.put("empty", "");
        keys.put("spaces and \"quotes\"", " leading and trailing ");
        keys.put("newline", "line1\nline2\ttab\\backslash");
        keys.put("tagsdemo", "demo");
        keys.forEach((k, val) -> xapi.volumeSet(sr.sr(), v.key(), k, val));

        assertThat(xapi.volumeStat(sr.sr(), v.key()).keys()).isEqualTo(keys);
        assertThat(xapi.srScan(sr.sr()).volume(v.key()).keys()).isEqualTo(keys);

        xapi.volumeSet(sr.sr(), v.key(), "with=equals", "overwritten");
        xapi.volumeUnset(sr.sr(), v.key(), "empty");
        keys.put("with=equals", "overwritten");
        keys.remove("empty");
        assertThat(xapi.volumeStat(sr.sr(), v.key()).keys()).isEqualTo(keys);
        assertThat(xapi.srScan(sr.sr()).volume(v.key()).keys()).isEqualTo(keys);
    }

    @Test
    void namesAndDescriptionsOfSrAndVolumeCanBeChanged() {
        Xapi.CreatedSr sr = newSr();
        xapi.srSetName(sr.sr(), "renamed SR ✓");
        xapi.srSetDescription(sr.sr(), "");
        SrStat stat = xapi.srStat(sr.sr());
        assertThat(stat.name()).isEqualTo("renamed SR ✓");
        assertThat(stat.description()).isEmpty();

        Volume v = xapi.vdiCreate(sr.sr(), "old name", "old description", MIB, false);
        xapi.volumeSetName(sr.sr(), v.key(), "new name");
        xapi.volumeSetDescription(sr.sr(), v.key(), "new description: ünïcode");
        Volume after = xapi.volumeStat(sr.sr(), v.key());
        assertThat(after.name()).isEqualTo("new name");
        assertThat(after.description()).isEqualTo("new description: ünïcode");
        Volume listed = xapi.srScan(sr.sr()).volume(v.key());
        assertThat(listed.name()).isEqualTo("new name");
        assertThat(listed.description()).isEqualTo("new description: ünïcode");
    }

    @Test
    void volumesAboveTwoTebibytesWork() throws Exception {
        Xapi.CreatedSr sr = newSr();
        Volume v = xapi.vdiCreate(sr.sr(), "huge", 3 * TIB);
        assertThat(v.virtualSize()).isEqualTo(3 * TIB);
        Path file = Disk.volumeFile(srDir, v.key());
        assertThat(Disk.size(file)).isEqualTo(3 * TIB);
        assertThat(Disk.allocatedBytes(file)).isLessThan(MIB);

        // Data beyond the 2 TiB mark, where 32-bit sector arithmetic would wrap.
        byte[] data = Disk.pattern(30, 4096);
        Disk.write(file, 2 * TIB + 4096, data);
        assertThat(xapi.vdiResize(sr.sr(), v.key(), 4 * TIB).virtualSize()).isEqualTo(4 * TIB);
        assertThat(Disk.size(file)).isEqualTo(4 * TIB);
        assertThat(Disk.read(file, 2 * TIB + 4096, 4096)).isEqualTo(data);
        assertThat(xapi.srScan(sr.sr()).volume(v.key()).virtualSize()).isEqualTo(4 * TIB);
    }

    @Test
    void srScanReconcilesMetadataWithTheFiles() throws Exception {
        Xapi.CreatedSr sr = newSr();
        Volume kept = xapi.vdiCreate(sr.sr(), "kept", MIB);
        Volume lost = xapi.vdiCreate(sr.sr(), "lost", MIB);

        // A file nobody registered (e.g. copied in by an admin) shows up with a default name.
        String orphanKey = UUID.randomUUID().toString();
        Path orphan = Disk.volumeFile(srDir, orphanKey);
        try (var raf = new java.io.RandomAccessFile(orphan.toFile(), "rw")) {
            raf.setLength(2 * MIB);
        }
        // A row whose file vanished is dropped.
        Files.delete(Disk.volumeFile(srDir, lost.key()));

        Xapi.Scan scan = xapi.srScan(sr.sr());
        assertThat(scan.volumes()).extracting(Volume::key)
                .contains(kept.key(), orphanKey).doesNotContain(lost.key());
        Volume found = scan.volume(orphanKey);
        assertThat(found.name()).isNotBlank();
        assertThat(found.virtualSize()).isEqualTo(2 * MIB);
        assertThat(URI.create(found.uri().get(0)).getScheme()).isEqualTo("spdk-sr");
        assertThat(found.uuid()).isNotNull();
        assertThat(UUID.fromString(found.uuid())).isNotNull();
        // The adopted volume is a normal one from now on.
        assertThat(xapi.srScan(sr.sr()).volume(orphanKey).uuid()).isEqualTo(found.uuid());
        xapi.volumeSet(sr.sr(), orphanKey, "adopted", "true");
        assertThat(xapi.volumeStat(sr.sr(), orphanKey).keys()).containsEntry("adopted", "true");
    }

    @Test
    void srDestroyRemovesEverythingTheSrCreated() throws Exception {
        Xapi.CreatedSr sr = newSr();
        Volume v = xapi.vdiCreate(sr.sr(), "doomed", 16 * MIB);
        xapi.vdiSnapshot(sr.sr(), v.key());
        xapi.vdiClone(sr.sr(), v.key());
        xapi.pbdUnplug(sr.sr());

        xapi.srDestroy(sr.deviceConfig());

        // The directory was supplied by the admin: it stays, empty of anything the SR made.
        assertThat(srDir).isDirectory();
        try (Stream<Path> left = Files.list(srDir)) {
            assertThat(left).isEmpty();
        }
    }

    @Test
    void srCreateNeverOverwritesAnExistingSr() {
        Xapi.CreatedSr sr = newSr();
        Volume v = xapi.vdiCreate(sr.sr(), "precious", MIB);

        StorageException e = org.assertj.core.api.Assertions.catchThrowableOfType(StorageException.class,
                () -> xapi.srCreate(UUID.randomUUID().toString(), Map.of("path", srDir.toString()), "second", ""));
        assertThat(e).as("a second SR.create on the same directory").isNotNull();
        assertThat(e.code()).startsWith("SR_BACKEND_FAILURE");
        assertThat(e.error().params()).last().asString().isNotBlank();

        Xapi.Scan scan = xapi.srScan(sr.sr());
        assertThat(scan.stat().uuid()).isEqualTo(sr.uuid());
        assertThat(scan.volume(v.key())).isNotNull();
    }

    @Test
    void srAttachRefusesADirectoryHoldingAnotherSr() {
        Xapi.CreatedSr sr = newSr();
        Map<String, String> wrong = new LinkedHashMap<>(sr.deviceConfig());
        wrong.put("sr_uuid", UUID.randomUUID().toString());
        StorageException e = org.assertj.core.api.Assertions.catchThrowableOfType(StorageException.class,
                () -> xapi.pbdPlug(wrong));
        assertThat(e).as("SR.attach with the sr_uuid of another SR").isNotNull();
        assertThat(e.code()).startsWith("SR_BACKEND_FAILURE");
        assertThat(xapi.pbdPlug(sr.deviceConfig()).stat().uuid()).isEqualTo(sr.uuid());
    }

    @Test
    void twoSrsKeepTheirVolumesApart(@TempDir Path otherDir) {
        Xapi.CreatedSr a = newSr();
        Xapi.CreatedSr b = xapi.srCreateAndPlug(Map.of("path", otherDir.toString()), "other SR", "");
        assertThat(b.sr()).isNotEqualTo(a.sr());
        Volume va = xapi.vdiCreate(a.sr(), "in a", MIB);
        Volume vb = xapi.vdiCreate(b.sr(), "in b", MIB);

        assertThat(xapi.srScan(a.sr()).volumes()).extracting(Volume::key).containsExactly(va.key());
        assertThat(xapi.srScan(b.sr()).volumes()).extracting(Volume::key).containsExactly(vb.key());
        assertThat(Disk.volumeFile(otherDir, vb.key())).exists();
        assertThat(Disk.volumeFile(srDir, vb.key())).doesNotExist();
        // Destroying through the wrong SR must not reach the other SR's volume.
        xss().run(XapiStorageScript.Kind.VOLUME, "Volume.destroy",
                Json.compact(Xapi.args("Volume.destroy", "sr", a.sr(), "key", vb.key())));
        assertThat(xapi.volumeStat(b.sr(), vb.key()).name()).isEqualTo("in b");
    }

    private XapiStorageScript xss() {
        return xapi.xss();
    }
}
