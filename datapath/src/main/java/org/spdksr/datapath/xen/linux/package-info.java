/**
 * The real implementations on a Xen dom0: JNA calls on {@code /dev/xen/gntdev} and
 * {@code /dev/xen/evtchn} with the request numbers and struct layouts of blkif.md §2, §3 and §8
 * ({@link org.spdksr.datapath.xen.linux.GntdevAbi}, {@link org.spdksr.datapath.xen.linux.EvtchnAbi}).
 * The xenstore client needs no native code (Java unix sockets) and lives in the xenstore package.
 */
package org.spdksr.datapath.xen.linux;
