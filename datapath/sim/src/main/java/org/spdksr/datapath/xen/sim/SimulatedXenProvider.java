package org.spdksr.datapath.xen.sim;

import java.io.IOException;
import java.nio.file.Path;
import org.spdksr.datapath.xen.SimulatedXen;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.sim.evtchn.SimEventChannels;
import org.spdksr.datapath.xen.sim.grant.SimGrantAccess;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreClient;

/** What {@code SPDKSR_XEN_MODE=sim} opens: a backend domain's view of a {@link SimXenHost}. */
public final class SimulatedXenProvider implements SimulatedXen {
    @Override
    public XenAccess open(Path root, int backendDomid) throws IOException {
        SimLayout layout = new SimLayout(root);
        Xenstore xs = XenstoreClient.connectSocket(layout.xenstoreSocket(backendDomid));
        try {
            return new XenAccess(xs, new SimGrantAccess(layout, backendDomid), SimEventChannels.open(layout, backendDomid));
        } catch (IOException | RuntimeException e) {
            xs.close();
            throw e;
        }
    }
}
