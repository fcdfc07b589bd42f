package org.spdksr.datapath.xen;

import java.io.IOException;
import java.util.ServiceLoader;
import org.spdksr.datapath.xen.evtchn.EventChannels;
import org.spdksr.datapath.xen.grant.GrantAccess;
import org.spdksr.datapath.xen.linux.LinuxEventChannels;
import org.spdksr.datapath.xen.linux.LinuxGrantAccess;
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
            case SIM -> simulation().open(config.simRoot(), SIM_BACKEND_DOMID);
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

    private static SimulatedXen simulation() throws IOException {
        return ServiceLoader.load(SimulatedXen.class, XenAccessFactory.class.getClassLoader()).findFirst()
                .orElseThrow(() -> new IOException(XenAccessConfig.MODE_KEY + "=sim asks for the simulated Xen host, "
                        + "which is not installed here: it comes with the development tree (mvn package, "
                        + "target/root) and the test suites, never with the RPM; on a Xen host set "
                        + XenAccessConfig.MODE_KEY + "=linux"));
    }
}
