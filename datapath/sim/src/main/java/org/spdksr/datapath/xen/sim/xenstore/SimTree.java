package org.spdksr.datapath.xen.sim.xenstore;

import java.util.ArrayList;
import java.util.List;
import org.spdksr.datapath.xen.xenstore.NodePermissions;
import org.spdksr.datapath.xen.xenstore.XenstorePaths;
import org.spdksr.datapath.xen.xenstore.XsAccess;

/**
 * The node tree with permission checks (blkif.md §4.2, "Permission strings"). Paths are absolute
 * and already validated. Not thread-safe: {@link SimStore} serialises access.
 */
final class SimTree {
    private final SimNode root;

    private SimTree(SimNode root) {
        this.root = root;
    }

    /** A fresh store: {@code /}, {@code /local} and {@code /local/domain}, owned by dom0, closed to others. */
    static SimTree initial() {
        NodePermissions dom0Only = NodePermissions.owned(0, XsAccess.NONE);
        SimNode root = new SimNode(new byte[0], dom0Only);
        SimNode local = new SimNode(new byte[0], dom0Only);
        root.children.put("local", local);
        local.children.put("domain", new SimNode(new byte[0], dom0Only));
        return new SimTree(root);
    }

    SimTree copy() {
        return new SimTree(root.deepCopy());
    }

    private static List<String> components(String path) {
        List<String> parts = new ArrayList<>();
        for (String p : path.split("/")) {
            if (!p.isEmpty()) {
                parts.add(p);
            }
        }
        return parts;
    }

    SimNode find(String path) {
        SimNode n = root;
        for (String c : components(path)) {
            n = n.children.get(c);
            if (n == null) {
                return null;
            }
        }
        return n;
    }

    private SimNode existing(String path) throws XsFailure {
        SimNode n = find(path);
        if (n == null) {
            throw new XsFailure("ENOENT", path);
        }
        return n;
    }

    private static void require(SimNode n, int domid, boolean write, String path) throws XsFailure {
        XsAccess a = n.perms.accessOf(domid);
        if (write ? !a.canWrite() : !a.canRead()) {
            throw new XsFailure("EACCES", "domain " + domid + " may not " + (write ? "write " : "read ") + path);
        }
    }

    /** Whether {@code domid} may see {@code path}, judged on the nearest node that exists. */
    boolean canRead(int domid, String path) {
        String p = path;
        SimNode n = find(p);
        while (n == null && !p.equals("/")) {
            p = XenstorePaths.parent(p);
            n = find(p);
        }
        return n != null && n.perms.accessOf(domid).canRead();
    }

    byte[] read(int domid, String path) throws XsFailure {
        SimNode n = existing(path);
        require(n, domid, false, path);
        return n.value;
    }

    List<String> directory(int domid, String path) throws XsFailure {
        SimNode n = existing(path);
        require(n, domid, false, path);
        return List.copyOf(n.children.keySet());
    }

    NodePermissions getPerms(int domid, String path) throws XsFailure {
        SimNode n = existing(path);
        require(n, domid, false, path);
        return n.perms;
    }

    void write(int domid, String path, byte[] value, List<SimChange> changes) throws XsFailure {
        SimNode n = find(path);
        if (n != null) {
            require(n, domid, true, path);
        } else {
            n = create(domid, path);
        }
        n.value = value;
        changes.add(new SimChange(path, false));
    }

    void mkdir(int domid, String path, List<SimChange> changes) throws XsFailure {
        if (find(path) != null) {
            return;
        }
        create(domid, path);
        changes.add(new SimChange(path, false));
    }

    /**
     * Creates {@code path} and any missing parents with empty values. The creator needs write access
     * to the deepest existing ancestor. New nodes copy that ancestor's permissions, except that an
     * unprivileged creator becomes the owner (C xenstored; blkif.md §4.2 marks it uncertain for oxenstored).
     */
    private SimNode create(int domid, String path) throws XsFailure {
        SimNode n = root;
        String at = "";
        List<String> parts = components(path);
        int i = 0;
        while (i < parts.size() && n.children.containsKey(parts.get(i))) {
            n = n.children.get(parts.get(i));
            at = at + "/" + parts.get(i);
            i++;
        }
        require(n, domid, true, at.isEmpty() ? "/" : at);
        NodePermissions inherited = domid == 0 ? n.perms : n.perms.withOwner(domid);
        for (; i < parts.size(); i++) {
            SimNode child = new SimNode(new byte[0], inherited);
            n.children.put(parts.get(i), child);
            n = child;
        }
        return n;
    }

    void rm(int domid, String path, List<SimChange> changes) throws XsFailure {
        if (path.equals("/")) {
            throw new XsFailure("EINVAL", "the root node cannot be removed");
        }
        String parentPath = XenstorePaths.parent(path);
        SimNode parent = find(parentPath);
        if (parent == null) {
            // blkif.md §4.2: a missing node is fine, a missing parent is not.
            throw new XsFailure("ENOENT", parentPath);
        }
        String name = path.substring(path.lastIndexOf('/') + 1);
        SimNode n = parent.children.get(name);
        if (n == null) {
            return;
        }
        require(n, domid, true, path);
        parent.children.remove(name);
        changes.add(new SimChange(path, true));
    }

    void setPerms(int domid, String path, NodePermissions perms, List<SimChange> changes) throws XsFailure {
        SimNode n = existing(path);
        require(n, domid, true, path);
        if (domid != 0 && perms.owner() != n.perms.owner()) {
            throw new XsFailure("EPERM", "domain " + domid + " may not give " + path + " to domain " + perms.owner());
        }
        n.perms = perms;
        changes.add(new SimChange(path, false));
    }
}
