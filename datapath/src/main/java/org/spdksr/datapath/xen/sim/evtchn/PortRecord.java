package org.spdksr.datapath.xen.sim.evtchn;

import java.util.Properties;

/**
 * The shared state of one simulated port, as stored in the registry: who owns it (the socket of the
 * evtchn instance that bound it) and what it is connected to.
 */
record PortRecord(int domid, int port, boolean interdomain, int remoteDomid, int remotePort, String socket) {

    static PortRecord unbound(int domid, int port, int remoteDomid, String socket) {
        return new PortRecord(domid, port, false, remoteDomid, 0, socket);
    }

    Properties toProperties() {
        Properties p = new Properties();
        p.setProperty("state", interdomain ? "interdomain" : "unbound");
        p.setProperty("remote-domid", Integer.toString(remoteDomid));
        p.setProperty("remote-port", Integer.toString(remotePort));
        p.setProperty("socket", socket);
        return p;
    }

    static PortRecord fromProperties(int domid, int port, Properties p) {
        return new PortRecord(domid, port, "interdomain".equals(p.getProperty("state")),
                Integer.parseInt(p.getProperty("remote-domid")), Integer.parseInt(p.getProperty("remote-port")),
                p.getProperty("socket"));
    }
}
