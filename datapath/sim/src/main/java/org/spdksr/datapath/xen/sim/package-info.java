/**
 * The "no Xen" simulation (ARCHITECTURE.md §3), shared between processes through one root
 * directory ({@link org.spdksr.datapath.xen.sim.SimLayout}).
 *
 * <p>{@link org.spdksr.datapath.xen.sim.SimXenHost} plays the hypervisor and toolstack: it runs the
 * simulated xenstored and creates guests. {@link org.spdksr.datapath.xen.sim.SimDomain} is a guest
 * as its own process sees it. Domain identity: a xenstore connection is domain 0 on
 * {@code xenstored/socket} and domain N on {@code xenstored/socket.dN}; grant and event-channel
 * instances are told their domain when opened. The backend side always runs as domain 0.
 *
 * <p>Test and demo infrastructure only: production code reaches it solely through
 * {@link org.spdksr.datapath.xen.XenAccessFactory} when configured with {@code SPDKSR_XEN_MODE=sim}.
 */
package org.spdksr.datapath.xen.sim;
