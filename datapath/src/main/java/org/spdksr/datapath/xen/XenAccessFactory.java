package org.spdksr.datapath.xen;

import java.io.IOException;
import org.spdksr.datapath.xen.evtchn.EventChannels;
import org.spdksr.datapath.xen.grant.GrantAccess;
import org.spdksr.datapath.xen.linux.LinuxEventChannels;
import org.spdksr.datapath.xen.linux.LinuxGrantAccess;
import org.spdksr.datapath.xen.sim.SimLayout;
import org.spdksr.datapath.xen.sim.evtchn.SimEventChannels;
import org.spdksr.datapath.xen.sim.grant.SimGrantAccess;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreClient;

/** The one place production code reaches an implementation, real or simulated, from its configuration. */
public final class XenAccessFactory {
    /** In the simulation the backend runs as domain 0, like blkifd in dom0. */
    public static final int SIM_BACKEND_DOMID = 0;

    private XenAccessFactory() {
    }

    public static XenAccess open(XenAccessConfig config) throws IOException {
        return switch (config.mode()) {
            case LINUX -> openLinux();
            case SIM -> openSim(new SimLayout(config.simRoot()));
        };
    }

    private static XenAccess openLinux() throws IOException {
        Xenstore xs = XenstoreClient.connectHost();
        GrantAccess grants = null;
        try {
            grants = LinuxGrantAccess.open();
            EventChannels events = LinuxEventChannels.open();
            return new XenAccess(xs, grants, events);
        } catch (IOException | RuntimeException e) {
            if (grants != null) {
                grants.close();
            }
            xs.close();
            throw e;
        }
    }

    private static XenAccess openSim(SimLayout layout) throws IOException {
        Xenstore xs = XenstoreClient.connectSocket(layout.xenstoreSocket(SIM_BACKEND_DOMID));
        try {
            return new XenAccess(xs, new SimGrantAccess(layout, SIM_BACKEND_DOMID),
                    SimEventChannels.open(layout, SIM_BACKEND_DOMID));
        } catch (IOException | RuntimeException e) {
            xs.close();
            throw e;
        }
    }
}
