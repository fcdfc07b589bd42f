/**
 * The toolstack step of the simulation (ARCHITECTURE.md §3): {@link org.spdksr.datapath.sim.xenopsd.SimXenopsd}
 * writes and removes a VBD's xenstore nodes the way xenopsd does for {@code backend_type} qdisk
 * (smapiv3.md §7.2, blkif.md §5.3, §5.7). Test and demo infrastructure: production code never imports it.
 */
package org.spdksr.datapath.sim.xenopsd;
