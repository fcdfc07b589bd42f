/**
 * A simulated guest blkfront (ARCHITECTURE.md §3, issue 4 "Simulated frontend"): the frontend
 * half of the handshake (blkif.md §5.5–§5.7), the frontend side of the ring (§1), the load
 * generator of the tests and benchmarks, and the hostile primitives of the robustness suite.
 *
 * <p>Pieces: {@link org.spdksr.datapath.sim.blkfront.SimGuest} is the guest kernel (page allocator,
 * event dispatch) over a {@code SimDomain}; {@link org.spdksr.datapath.sim.blkfront.SimBlkfront}
 * is one VBD's driver, configured by {@link org.spdksr.datapath.sim.blkfront.FrontOptions};
 * {@link org.spdksr.datapath.sim.blkfront.FrontRing} and
 * {@link org.spdksr.datapath.sim.blkfront.RequestEncoder} are the ring protocol, usable on their
 * own against the backend's {@code BackRing}; {@link org.spdksr.datapath.sim.blkfront.LoadGenerator}
 * drives verified load; {@link org.spdksr.datapath.sim.blkfront.HostileFront} breaks the rules on
 * purpose. Test and demo infrastructure: production code never imports it.
 */
package org.spdksr.datapath.sim.blkfront;
