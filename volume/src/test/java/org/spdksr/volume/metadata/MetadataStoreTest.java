package org.spdksr.volume.metadata;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.lifecycle.AfterProperty;
import net.jqwik.api.lifecycle.BeforeProperty;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MetadataStoreTest {
    @TempDir
    Path dir;

    @Test
    void srRowAndVolumeRowsPersistAcrossConnections() throws Exception {
        Path db = dir.resolve("m.db");
        try (MetadataStore store = MetadataStore.open(db)) {
            store.initialise(new SrRecord("u1", "n", "d", "file"));
            store.insert(new VolumeRecord("k1", "k1", "disk", "", false, false, null, Map.of("a", "b")));
            store.insert(new VolumeRecord("k2", "k2", "snap", "", false, true, "k1", Map.of()));
        }
        try (MetadataStore store = MetadataStore.open(db)) {
            assertThat(store.sr()).contains(new SrRecord("u1", "n", "d", "file"));
            assertThat(store.volume("k2").orElseThrow().parentKey()).isEqualTo("k1");
            store.delete("k1");
            assertThat(store.volume("k1")).isEmpty();
            assertThat(store.volume("k2").orElseThrow().parentKey()).isNull();
        }
    }

    private Path sharedFile;
    private MetadataStore shared;

    @BeforeProperty
    void open() throws Exception {
        sharedFile = java.nio.file.Files.createTempFile("spdk-sr-keys", ".db");
        shared = MetadataStore.open(sharedFile);
        shared.insert(new VolumeRecord("k", "k", "n", "", false, false, null, Map.of()));
    }

    @AfterProperty
    void close() throws Exception {
        shared.close();
        java.nio.file.Files.deleteIfExists(sharedFile);
    }

    /**
     * xapi keeps VDI attributes in keys (smapiv3.md §5): whatever goes in comes back exactly.
     * 100 tries: each is a few SQLite transactions with fsync, and the suite has a 15-minute budget.
     */
    @Property(tries = 100)
    void keysRoundTripExactly(@ForAll Map<String, String> keys) throws Exception {
        Map<String, String> before = new HashMap<>(shared.volume("k").orElseThrow().keys());
        for (Map.Entry<String, String> entry : keys.entrySet()) {
            shared.setKey("k", entry.getKey(), entry.getValue());
        }
        before.putAll(keys);
        assertThat(shared.volume("k").orElseThrow().keys()).isEqualTo(before);
        for (String k : keys.keySet()) {
            shared.unsetKey("k", k);
        }
        keys.keySet().forEach(before::remove);
        assertThat(shared.volume("k").orElseThrow().keys()).isEqualTo(before);
    }
}
