package org.spdksr.datapath.xen.xenstore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Optional;

/**
 * The node operations a backend uses, either directly or inside a transaction (blkif.md §4.2).
 * Paths should be absolute; relative paths resolve against the caller's domain home.
 */
public interface XenstoreOps {

    /** The raw value; {@link XenstoreException} with ENOENT when the node is missing. */
    byte[] read(String path) throws IOException;

    /** Writes the value, creating missing parents with empty values. */
    void write(String path, byte[] value) throws IOException;

    /** Child names, empty for a leaf. */
    List<String> directory(String path) throws IOException;

    void mkdir(String path) throws IOException;

    /** Recursive remove; a missing node is fine as long as its parent exists (blkif.md §4.2). */
    void rm(String path) throws IOException;

    NodePermissions getPerms(String path) throws IOException;

    void setPerms(String path, NodePermissions perms) throws IOException;

    default String readString(String path) throws IOException {
        return new String(read(path), StandardCharsets.UTF_8);
    }

    /** The value, or empty when the node does not exist. */
    default Optional<String> readIfExists(String path) throws IOException {
        try {
            return Optional.of(readString(path));
        } catch (XenstoreException e) {
            if (e.error() == XsError.ENOENT) {
                return Optional.empty();
            }
            throw e;
        }
    }

    default void write(String path, String value) throws IOException {
        write(path, value.getBytes(StandardCharsets.UTF_8));
    }
}
