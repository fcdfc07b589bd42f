package org.spdksr.datapath.nbd;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Which exports a server has and which connection serves which export. Binding a connection to an
 * export and removing that export are atomic with respect to each other, so a removal sees every
 * connection that will ever use the export and can drain them before the device is closed.
 */
final class ExportRegistry {
    /** What {@link #remove} took away: the export and the connections to drain before closing its device. */
    record Removal(NbdExport export, List<NbdConnection> connections) {
    }

    private final Map<String, NbdExport> exports = new LinkedHashMap<>();
    private final Map<NbdConnection, String> bound = new HashMap<>();

    synchronized void add(NbdExport export) {
        if (exports.containsKey(export.name())) {
            throw new IllegalArgumentException("an export named '" + export.name()
                    + "' already exists on this server; remove it first or choose another name");
        }
        exports.put(export.name(), export);
    }

    /** The export, or null. The empty name is the default export (proto.md): the only export if there is exactly one. */
    synchronized NbdExport find(String name) {
        NbdExport e = exports.get(name);
        if (e == null && name.isEmpty() && exports.size() == 1) {
            e = exports.values().iterator().next();
        }
        return e;
    }

    /** Finds the export and records that {@code connection} now serves it; null if there is no such export. */
    synchronized NbdExport bind(NbdConnection connection, String name) {
        NbdExport e = find(name);
        if (e != null) {
            bound.put(connection, e.name());
        }
        return e;
    }

    synchronized void unbind(NbdConnection connection) {
        bound.remove(connection);
    }

    synchronized List<String> names() {
        return List.copyOf(exports.keySet());
    }

    /** Removes the export; null if there is none by that name. */
    synchronized Removal remove(String name) {
        NbdExport e = exports.remove(name);
        if (e == null) {
            return null;
        }
        List<NbdConnection> users = new ArrayList<>();
        bound.forEach((c, n) -> {
            if (n.equals(name)) {
                users.add(c);
            }
        });
        return new Removal(e, users);
    }
}
