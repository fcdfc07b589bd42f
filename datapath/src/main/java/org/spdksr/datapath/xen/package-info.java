/**
 * Xen access layer (ARCHITECTURE.md §2): the three services a userspace block backend needs from
 * Xen, each behind a small interface with a Linux implementation and a simulation.
 * <ul>
 *   <li>{@link org.spdksr.datapath.xen.xenstore.Xenstore}: nodes, watches, transactions (blkif.md §4);</li>
 *   <li>{@link org.spdksr.datapath.xen.grant.GrantAccess}: map and copy granted guest pages (blkif.md §2);</li>
 *   <li>{@link org.spdksr.datapath.xen.evtchn.EventChannels}: bind, notify, wait, unmask (blkif.md §3).</li>
 * </ul>
 * {@link org.spdksr.datapath.xen.XenAccessFactory} picks the implementation family from
 * {@link org.spdksr.datapath.xen.XenAccessConfig}; it is the only production class that names the
 * simulation, and it never falls back from one family to the other.
 */
package org.spdksr.datapath.xen;
