package org.spdksr.datapath.xen.sim.xenstore;

import java.util.Map;
import java.util.TreeMap;
import org.spdksr.datapath.xen.xenstore.NodePermissions;

/** One node of the simulated store: value, permissions, children. */
final class SimNode {
    byte[] value;
    NodePermissions perms;
    final Map<String, SimNode> children = new TreeMap<>();

    SimNode(byte[] value, NodePermissions perms) {
        this.value = value;
        this.perms = perms;
    }

    SimNode deepCopy() {
        SimNode copy = new SimNode(value, perms);
        children.forEach((name, child) -> copy.children.put(name, child.deepCopy()));
        return copy;
    }
}
