package org.spdksr.datapath.xen.sim.xenstore;

import java.util.Optional;

/**
 * Sees every committed change of the simulated store at the moment it is made: under the store's
 * lock, before the writer gets its answer. So what the writer did before its write is done, and
 * what it does after has not started; a test checks a rule such as "no grant mapped when the
 * backend says Closed" (blkif.md §5.7) exactly then, not some time later. It must be quick and must
 * not use xenstore (the store is locked).
 */
@FunctionalInterface
public interface SimNodeObserver {
    /**
     * @param writer the domain of the connection that made the change
     * @param value the node's new value, or empty when it was removed (for a removed directory, only
     *     the directory itself is reported)
     */
    void committed(int writer, String path, Optional<String> value);
}
