package org.spdksr.plugin.host;

import java.nio.file.Path;

/**
 * What SR.attach tells the datapath about an SR it attached on this host: where the SR's volumes
 * may be and where its metadata is, recomputed by the volume plugin from the SR itself, so that
 * the datapath never has to trust a path or an lvstore name that arrives inside a volume URI.
 *
 * <p>A file SR has {@code volumes} (the real path of its {@code volumes/} directory) and no
 * lvstore; an spdk SR has {@code lvstore} and {@code socket} and no {@code volumes}. Paths are
 * kept as strings so the JSON form is plain and stable.
 *
 * @param srUuid the SR's uuid, from its metadata
 * @param handle the SR handle SR.attach returned (what SR.detach and SR.destroy name it by)
 * @param metadata the SR's metadata database (the volume plugin's MetadataStore)
 */
public record AttachedSr(String srUuid, String handle, String metadata, String volumes, String lvstore,
        String socket) {

    public static AttachedSr file(String srUuid, String handle, Path metadata, Path volumes) {
        return new AttachedSr(srUuid, handle, metadata.toString(), volumes.toString(), null, null);
    }

    public static AttachedSr spdk(String srUuid, String handle, Path metadata, String lvstore, Path socket) {
        return new AttachedSr(srUuid, handle, metadata.toString(), null, lvstore, socket.toString());
    }

    public Path metadataFile() {
        return Path.of(metadata);
    }

    public boolean holdsFiles() {
        return volumes != null;
    }

    /** The directory every volume file of a file SR is in; only if {@link #holdsFiles()}. */
    public Path volumesDirectory() {
        return Path.of(volumes);
    }

    public Path socketPath() {
        return Path.of(socket);
    }
}
