package org.spdksr.datapath.containment;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.sqlite.SQLiteConfig;

/**
 * Read-only questions to an SR's metadata database. The schema belongs to the volume module
 * (MetadataStore, schema version 1: tables {@code sr(uuid, ...)} and {@code volume(key, ...)});
 * the datapath only reads it, never creates it, so a destroyed SR is not brought back empty.
 */
public final class SrMetadataLookup {

    /** Whether the database is SR {@code srUuid}'s and lists volume {@code key}. */
    public boolean hasVolume(Path metadata, String srUuid, String key) throws SQLException {
        if (!Files.isRegularFile(metadata)) {
            return false;
        }
        SQLiteConfig config = new SQLiteConfig();
        config.setReadOnly(true);
        config.setBusyTimeout(60_000); // a writer holds the database only for a commit
        try (Connection db = config.createConnection("jdbc:sqlite:" + metadata);
                PreparedStatement query = db.prepareStatement(
                        "SELECT 1 FROM sr, volume WHERE sr.uuid = ? AND volume.key = ?")) {
            query.setString(1, srUuid);
            query.setString(2, key);
            try (ResultSet rows = query.executeQuery()) {
                return rows.next();
            }
        }
    }
}
