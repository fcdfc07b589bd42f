package org.spdksr.datapath.xen.xenstore;

import java.util.ArrayList;
import java.util.List;

/**
 * A node's permission list. The first entry names the owner, who always has full access, and its
 * letter is the access of every domain not listed; the other entries are the ACL (blkif.md §4.2).
 */
public record NodePermissions(List<XsPermission> entries) {

    public NodePermissions {
        if (entries.isEmpty()) {
            throw new IllegalArgumentException("a permission list needs at least the owner entry");
        }
        entries = List.copyOf(entries);
    }

    public static NodePermissions of(XsPermission owner, XsPermission... acl) {
        List<XsPermission> all = new ArrayList<>();
        all.add(owner);
        all.addAll(List.of(acl));
        return new NodePermissions(all);
    }

    /** Owned by {@code owner}, with {@code others} as the default for every other domain. */
    public static NodePermissions owned(int owner, XsAccess others) {
        return of(new XsPermission(owner, others));
    }

    public static NodePermissions parse(List<String> wire) {
        return new NodePermissions(wire.stream().map(XsPermission::parse).toList());
    }

    public List<String> wire() {
        return entries.stream().map(XsPermission::wire).toList();
    }

    public int owner() {
        return entries.get(0).domid();
    }

    /** What {@code domid} may do; domain 0 is privileged and may do everything (blkif.md §4.2). */
    public XsAccess accessOf(int domid) {
        if (domid == 0 || domid == owner()) {
            return XsAccess.BOTH;
        }
        for (int i = 1; i < entries.size(); i++) {
            if (entries.get(i).domid() == domid) {
                return entries.get(i).access();
            }
        }
        return entries.get(0).access();
    }

    public NodePermissions withOwner(int domid) {
        List<XsPermission> copy = new ArrayList<>(entries);
        copy.set(0, new XsPermission(domid, entries.get(0).access()));
        return new NodePermissions(copy);
    }
}
