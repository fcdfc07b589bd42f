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
 * <p>{@code spdk-sr://file/<absolute path of the raw file>?sr=<sr-uuid>&key=<key>&ro=<bool>}
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
