package org.spdksr.datapath.xen.sim;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.spdksr.datapath.xen.sim.grant.SimGrantMappings;
import org.spdksr.datapath.xen.sim.grant.SimGrantTable;
import org.spdksr.datapath.xen.sim.grant.SimGuestMemory;
import org.spdksr.datapath.xen.sim.xenstore.SimXenstoreServer;
import org.spdksr.datapath.xen.xenstore.NodePermissions;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreClient;
import org.spdksr.datapath.xen.xenstore.XenstorePaths;
import org.spdksr.datapath.xen.xenstore.XsAccess;

/**
 * A simulated Xen host for tests, the demo and the benchmark: it runs the simulated xenstored and
 * creates simulated guest domains under one root directory ({@link SimLayout}). The backend side
 * reaches it through the configuration-selected factory; guests, in this or another process,
 * through {@link SimDomain#attach}.
 */
public final class SimXenHost implements AutoCloseable {
    private final SimLayout layout;
    private final SimXenstoreServer xenstored;

    private SimXenHost(SimLayout layout, SimXenstoreServer xenstored) {
        this.layout = layout;
        this.xenstored = xenstored;
    }

    /** Starts the simulated host; {@code root} must be fresh or left by a host that has stopped. */
    public static SimXenHost start(Path root) throws IOException {
        SimLayout layout = new SimLayout(root);
        Files.createDirectories(root);
        SimXenstoreServer server = SimXenstoreServer.start(layout.xenstoreDir());
        SimXenHost host = new SimXenHost(layout, server);
        try (Xenstore xs = host.connectDom0()) {
            String home = XenstorePaths.domainPath(0);
            xs.write(home + "/domid", "0");
            xs.write(home + "/name", "Domain-0");
        }
        return host;
    }

    public SimLayout layout() {
        return layout;
    }

    /** The domain-0 xenstore socket; point XENSTORED_PATH at it to use xenstore-* tools. */
    public Path xenstoreSocket() {
        return xenstored.socket();
    }

    public SimXenstoreServer xenstored() {
        return xenstored;
    }

    public Xenstore connectDom0() throws IOException {
        return XenstoreClient.connectSocket(xenstored.socket());
    }

    /**
     * Creates guest {@code domid}: its memory of {@code pages} frames, a grant table of
     * {@code grantEntries} entries, its xenstore socket and its {@code /local/domain/<domid>} home
     * (owned by the guest, as the toolstack sets it up), then announces it with @introduceDomain.
     * The domain's own process then calls {@link SimDomain#attach}.
     */
    public void createDomain(int domid, int pages, int grantEntries) throws IOException {
        if (domid <= 0 || domid >= 0x7ff0) {
            throw new IllegalArgumentException("guest domid " + domid + " must be in 1..32751");
        }
        if (Files.exists(layout.domainDir(domid))) {
            throw new IOException("simulated domain " + domid + " already exists in " + layout.domainDir(domid)
                    + "; destroy it first or pick another domid");
        }
        SimGuestMemory.create(layout.memoryFile(domid), pages);
        SimGrantTable.create(layout.grantTableFile(domid), grantEntries);
        xenstored.socketFor(domid);
        try (Xenstore xs = connectDom0()) {
            String home = XenstorePaths.domainPath(domid);
            xs.transaction(tx -> {
                tx.mkdir(home);
                tx.setPerms(home, NodePermissions.owned(domid, XsAccess.NONE));
                tx.write(home + "/domid", Integer.toString(domid));
                tx.write(home + "/name", "sim-guest-" + domid);
                return null;
            });
        }
        xenstored.introduceDomain(domid);
    }

    /**
     * The mappings of {@code domid}'s grants that processes of this host hold now, one line per
     * mapping saying which grants and who holds them; a process that died holds none (as gntdev
     * releases a dead process's mappings). A backend that says Closed must hold none (blkif.md §5.7).
     */
    public List<String> liveMappings(int domid) {
        return SimGrantMappings.live(layout, domid);
    }

    /** Removes the domain's xenstore home and files, and fires @releaseDomain. */
    public void destroyDomain(int domid) throws IOException {
        try (Xenstore xs = connectDom0()) {
            xs.rm(XenstorePaths.domainPath(domid));
        }
        xenstored.releaseDomain(domid);
        Files.deleteIfExists(layout.memoryFile(domid));
        Files.deleteIfExists(layout.grantTableFile(domid));
        Files.deleteIfExists(layout.domainDir(domid));
    }

    @Override
    public void close() throws IOException {
        xenstored.close();
    }
}
