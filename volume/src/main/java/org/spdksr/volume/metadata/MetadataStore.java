package org.spdksr.volume.metadata;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Volume and SR metadata in one SQLite database per SR (ARCHITECTURE.md §4). The back end stays
 * the source of truth for which volumes exist and how big they are; this holds what it cannot:
 * names, descriptions, the {@code keys} map, flags and parent links. Callers hold the SR lock
 * for every write; SQLite's own locking only guards against a caller that forgot.
 */
public final class MetadataStore implements AutoCloseable {
    /** Bumped whenever the schema changes, so a newer plugin can migrate an older SR. */
    static final int SCHEMA_VERSION = 1;

    private final Connection connection;

    private MetadataStore(Connection connection) {
        this.connection = connection;
    }

    /** Opens (creating if needed) the database at {@code file}. */
    public static MetadataStore open(Path file) throws SQLException {
        Connection connection = DriverManager.getConnection("jdbc:sqlite:" + file);
        try (Statement statement = connection.createStatement()) {
            // xapi-storage-script never times out (smapiv3.md §3.1); waiting long is better than failing.
            statement.execute("PRAGMA busy_timeout = 600000");
            statement.execute("PRAGMA foreign_keys = ON");
            // A power cut must not lose a committed volume row.
            statement.execute("PRAGMA synchronous = FULL");
            statement.execute("""
                    CREATE TABLE IF NOT EXISTS sr (
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        uuid TEXT NOT NULL,
                        name TEXT NOT NULL,
                        description TEXT NOT NULL,
                        backend TEXT NOT NULL,
                        schema_version INTEGER NOT NULL)""");
            statement.execute("""
                    CREATE TABLE IF NOT EXISTS volume (
                        key TEXT PRIMARY KEY,
                        uuid TEXT NOT NULL UNIQUE,
                        name TEXT NOT NULL,
                        description TEXT NOT NULL,
                        sharable INTEGER NOT NULL,
                        read_only INTEGER NOT NULL,
                        parent_key TEXT)""");
            statement.execute("""
                    CREATE TABLE IF NOT EXISTS volume_key (
                        volume TEXT NOT NULL REFERENCES volume(key) ON DELETE CASCADE,
                        k TEXT NOT NULL,
                        v TEXT NOT NULL,
                        PRIMARY KEY (volume, k))""");
            // A volume being made: recorded before its data, replaced by its volume row in the
            // transaction that completes the call. One left behind marks data a killed call made
            // (issue 19), which is rolled back rather than adopted as an unrecorded volume.
            statement.execute("""
                    CREATE TABLE IF NOT EXISTS pending_volume (
                        key TEXT PRIMARY KEY,
                        operation TEXT NOT NULL)""");
        } catch (SQLException e) {
            connection.close();
            throw e;
        }
        return new MetadataStore(connection);
    }

    public void initialise(SrRecord sr) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement(
                "INSERT INTO sr (id, uuid, name, description, backend, schema_version) VALUES (1, ?, ?, ?, ?, ?)")) {
            insert.setString(1, sr.uuid());
            insert.setString(2, sr.name());
            insert.setString(3, sr.description());
            insert.setString(4, sr.backend());
            insert.setInt(5, SCHEMA_VERSION);
            insert.executeUpdate();
        }
    }

    public Optional<SrRecord> sr() throws SQLException {
        try (PreparedStatement query = connection.prepareStatement("SELECT uuid, name, description, backend FROM sr");
                ResultSet rows = query.executeQuery()) {
            if (!rows.next()) {
                return Optional.empty();
            }
            return Optional.of(new SrRecord(rows.getString(1), rows.getString(2), rows.getString(3), rows.getString(4)));
        }
    }

    public void setSrName(String name) throws SQLException {
        update("UPDATE sr SET name = ?", name);
    }

    public void setSrDescription(String description) throws SQLException {
        update("UPDATE sr SET description = ?", description);
    }

    /** Records that a call is about to make the data of volume {@code key}. */
    public void beginVolume(String key, String operation) throws SQLException {
        update("INSERT INTO pending_volume (key, operation) VALUES (?, ?)", key, operation);
    }

    /** Turns a pending volume into a recorded one, atomically. */
    public void completeVolume(VolumeRecord volume) throws SQLException {
        inTransaction(() -> {
            insertRow(volume);
            update("DELETE FROM pending_volume WHERE key = ?", volume.key());
        });
    }

    /** Volumes whose making was begun and never completed, by key, with the operation. */
    public Map<String, String> pendingVolumes() throws SQLException {
        Map<String, String> pending = new TreeMap<>();
        try (PreparedStatement query = connection.prepareStatement("SELECT key, operation FROM pending_volume");
                ResultSet rows = query.executeQuery()) {
            while (rows.next()) {
                pending.put(rows.getString(1), rows.getString(2));
            }
        }
        return pending;
    }

    /** Forgets a pending volume once its data is gone. */
    public void abandonVolume(String key) throws SQLException {
        update("DELETE FROM pending_volume WHERE key = ?", key);
    }

    public void insert(VolumeRecord volume) throws SQLException {
        inTransaction(() -> insertRow(volume));
    }

    private void insertRow(VolumeRecord volume) throws SQLException {
        try (PreparedStatement insert = connection.prepareStatement(
                "INSERT INTO volume (key, uuid, name, description, sharable, read_only, parent_key) "
                        + "VALUES (?, ?, ?, ?, ?, ?, ?)")) {
            insert.setString(1, volume.key());
            insert.setString(2, volume.uuid());
            insert.setString(3, volume.name());
            insert.setString(4, volume.description());
            insert.setInt(5, volume.sharable() ? 1 : 0);
            insert.setInt(6, volume.readOnly() ? 1 : 0);
            insert.setString(7, volume.parentKey());
            insert.executeUpdate();
        }
        for (Map.Entry<String, String> entry : volume.keys().entrySet()) {
            putKey(volume.key(), entry.getKey(), entry.getValue());
        }
    }

    public Optional<VolumeRecord> volume(String key) throws SQLException {
        return volumes(key).stream().findFirst();
    }

    /** Every volume row, ordered by key. */
    public List<VolumeRecord> volumes() throws SQLException {
        return volumes(null);
    }

    private List<VolumeRecord> volumes(String onlyKey) throws SQLException {
        Map<String, Map<String, String>> keys = new TreeMap<>();
        try (PreparedStatement query = connection.prepareStatement(
                "SELECT volume, k, v FROM volume_key" + (onlyKey == null ? "" : " WHERE volume = ?"))) {
            if (onlyKey != null) {
                query.setString(1, onlyKey);
            }
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    keys.computeIfAbsent(rows.getString(1), k -> new LinkedHashMap<>()).put(rows.getString(2), rows.getString(3));
                }
            }
        }
        List<VolumeRecord> result = new ArrayList<>();
        try (PreparedStatement query = connection.prepareStatement(
                "SELECT key, uuid, name, description, sharable, read_only, parent_key FROM volume"
                        + (onlyKey == null ? "" : " WHERE key = ?") + " ORDER BY key")) {
            if (onlyKey != null) {
                query.setString(1, onlyKey);
            }
            try (ResultSet rows = query.executeQuery()) {
                while (rows.next()) {
                    String key = rows.getString(1);
                    result.add(new VolumeRecord(key, rows.getString(2), rows.getString(3), rows.getString(4),
                            rows.getInt(5) != 0, rows.getInt(6) != 0, rows.getString(7), keys.getOrDefault(key, Map.of())));
                }
            }
        }
        return result;
    }

    public void setName(String key, String name) throws SQLException {
        update("UPDATE volume SET name = ? WHERE key = ?", name, key);
    }

    public void setDescription(String key, String description) throws SQLException {
        update("UPDATE volume SET description = ? WHERE key = ?", description, key);
    }

    public void setKey(String key, String k, String v) throws SQLException {
        putKey(key, k, v);
    }

    public void unsetKey(String key, String k) throws SQLException {
        update("DELETE FROM volume_key WHERE volume = ? AND k = ?", key, k);
    }

    /** Removes the row and its keys; volumes that named it as parent lose the link. */
    public void delete(String key) throws SQLException {
        inTransaction(() -> {
            update("UPDATE volume SET parent_key = NULL WHERE parent_key = ?", key);
            update("DELETE FROM volume WHERE key = ?", key);
        });
    }

    private void putKey(String key, String k, String v) throws SQLException {
        update("INSERT INTO volume_key (volume, k, v) VALUES (?, ?, ?) ON CONFLICT (volume, k) DO UPDATE SET v = excluded.v",
                key, k, v);
    }

    private void update(String sql, String... parameters) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                statement.setString(i + 1, parameters[i]);
            }
            statement.executeUpdate();
        }
    }

    @FunctionalInterface
    private interface SqlWork {
        void run() throws SQLException;
    }

    private void inTransaction(SqlWork work) throws SQLException {
        boolean outer = connection.getAutoCommit();
        if (!outer) {
            work.run();
            return;
        }
        connection.setAutoCommit(false);
        try {
            work.run();
            connection.commit();
        } catch (SQLException | RuntimeException e) {
            connection.rollback();
            throw e;
        } finally {
            connection.setAutoCommit(true);
        }
    }

    @Override
    public void close() throws SQLException {
        connection.close();
    }
}
