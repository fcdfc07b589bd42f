package org.spdksr.datapath.xen.sim.evtchn;

import java.util.Properties;

/**
 * The shared state of one simulated port, as stored in the registry: who owns it (the socket of the
 * evtchn instance that bound it, and the pid of its process) and what it is connected to.
 */
record PortRecord(int domid, int port, boolean interdomain, int remoteDomid, int remotePort, String socket,
        long ownerPid) {

    static PortRecord unbound(int domid, int port, int remoteDomid, String socket, long ownerPid) {
        return new PortRecord(domid, port, false, remoteDomid, 0, socket, ownerPid);
    }

    /** The same port, its interdomain binding closed: unbound, still allocated for the remote domain. */
    PortRecord closedByPeer() {
        return unbound(domid, port, remoteDomid, socket, ownerPid);
    }

    /**
     * Whether the process that owns this port is gone. Xen closes every port of an evtchn file when
     * the kernel closes it, which it does for a process that died however it died (kill -9 too).
     */
    boolean ownerDied() {
        return ownerPid > 0 && ProcessHandle.of(ownerPid).map(p -> !p.isAlive()).orElse(true);
    }

    Properties toProperties() {
        Properties p = new Properties();
        p.setProperty("state", interdomain ? "interdomain" : "unbound");
        p.setProperty("remote-domid", Integer.toString(remoteDomid));
        p.setProperty("remote-port", Integer.toString(remotePort));
        p.setProperty("socket", socket);
        p.setProperty("owner-pid", Long.toString(ownerPid));
        return p;
    }

    static PortRecord fromProperties(int domid, int port, Properties p) {
        return new PortRecord(domid, port, "interdomain".equals(p.getProperty("state")),
                Integer.parseInt(p.getProperty("remote-domid")), Integer.parseInt(p.getProperty("remote-port")),
                p.getProperty("socket"), Long.parseLong(p.getProperty("owner-pid", "0")));
    }
}
