package org.spdksr.plugin.spdk.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;

/**
 * The lvstore's metadata kept on its base device, as the real blobstore keeps it there
 * (spdk-rpc.md §5): a header at offset 0 of the backing file. That is why lvstores and lvols come
 * back by examine whenever the same device is registered again, in this or a restarted simulator,
 * and never through the saved config (§4). Only metadata is stored; the simulator keeps no data.
 */
final class LvstoreImage {
    private static final byte[] MAGIC = "SPDK-SIM-LVSTORE".getBytes(StandardCharsets.US_ASCII);
    /** The image must fit in the first metadata cluster the store reserves (see {@link SimLvstore}). */
    private static final int MAX = 1 << 20;

    private final ObjectMapper mapper;

    LvstoreImage(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    void write(SimLvstore store) throws IOException {
        ObjectNode root = mapper.createObjectNode();
        root.put("uuid", store.uuid).put("name", store.name).put("cluster_size", store.clusterSize)
                .put("total_data_clusters", store.totalDataClusters);
        ArrayNode lvols = root.putArray("lvols");
        for (SimLvol lvol : store.lvols.values()) {
            ObjectNode l = lvols.addObject();
            l.put("uuid", lvol.uuid).put("name", lvol.name).put("num_clusters", lvol.numClusters).put("thin", lvol.thin)
                    .put("read_only", lvol.readOnly).put("snapshot", lvol.snapshot)
                    .put("parent", lvol.parent == null ? null : lvol.parent.uuid);
            ArrayNode words = l.putArray("allocated");
            for (long word : lvol.allocated.toLongArray()) {
                words.add(word);
            }
        }
        byte[] json = mapper.writeValueAsBytes(root);
        if (json.length + MAGIC.length + 4 > MAX) {
            throw new IOException("simulated lvstore metadata too large");
        }
        try (RandomAccessFile file = new RandomAccessFile(store.base.backing.toFile(), "rw")) {
            file.seek(0);
            file.write(MAGIC);
            file.writeInt(json.length);
            file.write(json);
        }
    }

    void wipe(Path device) throws IOException {
        try (RandomAccessFile file = new RandomAccessFile(device.toFile(), "rw")) {
            file.seek(0);
            file.write(new byte[MAGIC.length]);
        }
    }

    /** The lvstore recorded on the device, or null if it holds none (examine finds nothing). */
    SimLvstore read(SimBdev base) throws IOException {
        JsonNode root;
        try (RandomAccessFile file = new RandomAccessFile(base.backing.toFile(), "r")) {
            if (file.length() < MAGIC.length + 4) {
                return null;
            }
            byte[] magic = new byte[MAGIC.length];
            file.readFully(magic);
            if (!java.util.Arrays.equals(magic, MAGIC)) {
                return null;
            }
            byte[] json = new byte[file.readInt()];
            file.readFully(json);
            root = mapper.readTree(json);
        }
        SimLvstore store = new SimLvstore(root.path("uuid").asText(), root.path("name").asText(), base,
                root.path("cluster_size").asLong(), root.path("total_data_clusters").asLong());
        Map<String, String> parents = new HashMap<>();
        for (JsonNode l : root.path("lvols")) {
            SimLvol lvol = new SimLvol(l.path("uuid").asText(), l.path("name").asText(), l.path("num_clusters").asLong(),
                    l.path("thin").asBoolean());
            lvol.readOnly = l.path("read_only").asBoolean();
            lvol.snapshot = l.path("snapshot").asBoolean();
            long[] words = new long[l.path("allocated").size()];
            for (int i = 0; i < words.length; i++) {
                words[i] = l.path("allocated").get(i).asLong();
            }
            lvol.allocated = BitSet.valueOf(words);
            if (!l.path("parent").isNull()) {
                parents.put(lvol.uuid, l.path("parent").asText());
            }
            store.lvols.put(lvol.uuid, lvol);
        }
        parents.forEach((child, parent) -> store.lvols.get(child).parent = store.lvols.get(parent));
        return store;
    }
}
