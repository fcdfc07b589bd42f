package org.spdksr.plugin.idl;

import java.net.URI;
import java.net.URISyntaxException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The one URI scheme of spdk-sr volumes. xapi-storage-script picks the datapath whose directory
 * name equals the scheme and hands it the whole string (smapiv3.md §2.5), so the URI carries
 * everything the datapath needs to open the volume without asking the volume plugin.
 *
 * <ul>
 *   <li>{@code spdk-sr://file/<absolute path of the raw file>?sr=<sr-uuid>&key=<key>&ro=<bool>}
 *   <li>{@code spdk-sr://spdk/<lvstore>/<lvol>?socket=<spdk_tgt socket>&sr=<sr-uuid>&key=<key>&ro=<bool>}
 * </ul>
 */
public sealed interface VolumeUri {
    String SCHEME = "spdk-sr";

    String srUuid();

    String key();

    boolean readOnly();

    String format();

    /** A volume of the {@code file} back end: a sparse raw file. */
    record FileVolume(Path file, String srUuid, String key, boolean readOnly) implements VolumeUri {
        public FileVolume {
            if (!file.isAbsolute()) {
                throw new IllegalArgumentException("volume file must be an absolute path: " + file);
            }
        }

        @Override
        public String format() {
            String query = "sr=" + srUuid + "&key=" + key + "&ro=" + readOnly;
            try {
                return new URI(SCHEME, "file", file.toString(), query, null).toASCIIString();
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("cannot build a volume URI for " + file, e);
            }
        }
    }

    /**
     * A volume of the {@code spdk} back end: the lvol {@code lvol} in lvstore {@code lvstore} of the
     * spdk_tgt listening on {@code socket}. The datapath opens it by its alias {@code lvstore/lvol},
     * which SPDK accepts wherever a bdev name is expected (spdk-rpc.md §6, bdev_get_bdevs).
     */
    record SpdkLvol(Path socket, String lvstore, String lvol, String srUuid, String key, boolean readOnly)
            implements VolumeUri {
        public SpdkLvol {
            if (!socket.isAbsolute()) {
                throw new IllegalArgumentException("SPDK socket must be an absolute path: " + socket);
            }
            if (lvstore.isEmpty() || lvol.isEmpty() || lvstore.contains("/") || lvol.contains("/")) {
                throw new IllegalArgumentException("bad lvstore/lvol name " + lvstore + "/" + lvol);
            }
        }

        /** The bdev alias SPDK knows the lvol by. */
        public String bdevAlias() {
            return lvstore + "/" + lvol;
        }

        @Override
        public String format() {
            try {
                String path = new URI(null, null, "/" + lvstore + "/" + lvol, null).getRawPath();
                return SCHEME + "://spdk" + path + "?socket=" + encode(socket.toString()) + "&sr=" + encode(srUuid)
                        + "&key=" + encode(key) + "&ro=" + readOnly;
            } catch (URISyntaxException e) {
                throw new IllegalArgumentException("cannot build a volume URI for lvol " + bdevAlias(), e);
            }
        }
    }

    private static String encode(String value) {
        return java.net.URLEncoder.encode(value, StandardCharsets.UTF_8);
    }

    static VolumeUri parse(String text) {
        URI uri;
        try {
            uri = new URI(text);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("not a URI: " + text, e);
        }
        if (!SCHEME.equals(uri.getScheme())) {
            throw new IllegalArgumentException("not an " + SCHEME + " volume URI: " + text);
        }
        Map<String, String> query = queryOf(uri);
        String sr = required(query, "sr", text);
        String key = required(query, "key", text);
        boolean readOnly = Boolean.parseBoolean(query.getOrDefault("ro", "false"));
        if ("file".equals(uri.getAuthority())) {
            return new FileVolume(Path.of(uri.getPath()), sr, key, readOnly);
        }
        if ("spdk".equals(uri.getAuthority())) {
            String[] parts = uri.getPath() == null ? new String[0] : uri.getPath().split("/", -1);
            if (parts.length != 3 || !parts[0].isEmpty()) {
                throw new IllegalArgumentException("volume URI " + text + " must name /<lvstore>/<lvol>");
            }
            return new SpdkLvol(Path.of(required(query, "socket", text)), parts[1], parts[2], sr, key, readOnly);
        }
        throw new IllegalArgumentException("unknown back end '" + uri.getAuthority() + "' in volume URI " + text);
    }

    private static Map<String, String> queryOf(URI uri) {
        Map<String, String> query = new LinkedHashMap<>();
        String raw = uri.getRawQuery();
        if (raw == null) {
            return query;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            String name = eq < 0 ? pair : pair.substring(0, eq);
            String value = eq < 0 ? "" : pair.substring(eq + 1);
            query.put(URLDecoder.decode(name, StandardCharsets.UTF_8), URLDecoder.decode(value, StandardCharsets.UTF_8));
        }
        return query;
    }

    private static String required(Map<String, String> query, String name, String text) {
        String value = query.get(name);
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException("volume URI lacks '" + name + "': " + text);
        }
        return value;
    }
}
