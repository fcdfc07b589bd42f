package org.spdksr.datapath.xen;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The simulated Xen host, as {@link XenAccessFactory} finds it: through {@link java.util.ServiceLoader},
 * because it lives in the simulation module (spdk-sr-sim), which the demo, the tests and the
 * benchmark put on the class path and a host's install does not have. The product therefore
 * holds no simulation class; it only knows how to ask for one.
 */
public interface SimulatedXen {
    /** Opens the services of domain {@code backendDomid} on the simulated host rooted at {@code root}. */
    XenAccess open(Path root, int backendDomid) throws IOException;
}
