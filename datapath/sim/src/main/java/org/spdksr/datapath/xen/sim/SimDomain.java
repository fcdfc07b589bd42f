package org.spdksr.datapath.xen.sim;

import java.io.IOException;
import java.nio.file.Files;
import org.spdksr.datapath.xen.sim.evtchn.SimEventChannels;
import org.spdksr.datapath.xen.sim.grant.SimGrantTable;
import org.spdksr.datapath.xen.sim.grant.SimGuestMemory;
import org.spdksr.datapath.xen.xenstore.Xenstore;
import org.spdksr.datapath.xen.xenstore.XenstoreClient;
import org.spdksr.datapath.xen.xenstore.XenstorePaths;

/**
 * A simulated guest domain as its own process sees it: its memory, its grant table (to grant pages
 * to a backend), its event-channel endpoint and a xenstore connection acting for it.
 */
public final class SimDomain implements AutoCloseable {
    private final int domid;
    private final SimGuestMemory memory;
    private final SimGrantTable grantTable;
    private final SimEventChannels eventChannels;
    private final Xenstore xenstore;

    private SimDomain(int domid, SimGuestMemory memory, SimGrantTable grantTable, SimEventChannels eventChannels,
            Xenstore xenstore) {
        this.domid = domid;
        this.memory = memory;
        this.grantTable = grantTable;
        this.eventChannels = eventChannels;
        this.xenstore = xenstore;
    }

    /** Opens domain {@code domid}, created earlier by {@link SimXenHost#createDomain}, from any process. */
    public static SimDomain attach(SimLayout layout, int domid) throws IOException {
        if (!Files.exists(layout.grantTableFile(domid))) {
            throw new IOException("no simulated domain " + domid + " under " + layout.root()
                    + "; create it with SimXenHost.createDomain first");
        }
        SimGuestMemory memory = SimGuestMemory.open(layout.memoryFile(domid));
        SimGrantTable table = SimGrantTable.open(layout.grantTableFile(domid), true);
        Xenstore xs = XenstoreClient.connectSocket(layout.xenstoreSocket(domid));
        SimEventChannels ec;
        try {
            ec = SimEventChannels.open(layout, domid);
        } catch (IOException e) {
            xs.close();
            throw e;
        }
        return new SimDomain(domid, memory, table, ec, xs);
    }

    public int domid() {
        return domid;
    }

    /** {@code /local/domain/<domid>}. */
    public String home() {
        return XenstorePaths.domainPath(domid);
    }

    public SimGuestMemory memory() {
        return memory;
    }

    public SimGrantTable grantTable() {
        return grantTable;
    }

    /** Grants {@code toDomid} access to {@code frame}; returns the grant reference. */
    public int grant(int frame, int toDomid, boolean readOnly) {
        if (frame < 0 || frame >= memory.pages()) {
            throw new IndexOutOfBoundsException("frame " + frame + " outside the " + memory.pages()
                    + " pages of domain " + domid);
        }
        return grantTable.grant(toDomid, frame, readOnly);
    }

    public void revoke(int ref) {
        grantTable.revoke(ref);
    }

    public SimEventChannels eventChannels() {
        return eventChannels;
    }

    public Xenstore xenstore() {
        return xenstore;
    }

    @Override
    public void close() throws IOException {
        try {
            eventChannels.close();
        } finally {
            xenstore.close();
        }
    }
}
