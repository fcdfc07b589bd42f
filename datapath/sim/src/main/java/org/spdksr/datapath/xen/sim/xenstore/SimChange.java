package org.spdksr.datapath.xen.sim.xenstore;

/** A node that changed; {@code removed} also fires watches set below it (blkif.md §4.2, watches are recursive). */
record SimChange(String path, boolean removed) {
}
