package org.spdksr.datapath.xen.sim;

import java.nio.file.Path;

/**
 * Where a simulated host keeps its state, so that every process of the simulation (backend,
 * simulated guests, tools) finds the same files from one root directory:
 * <pre>
 *   root/xenstored/socket          domain-0 xenstore socket (XENSTORED_PATH)
 *   root/xenstored/socket.d&lt;id&gt;    xenstore socket acting for domain id
 *   root/domains/&lt;id&gt;/memory       guest memory, 4096-byte frames
 *   root/domains/&lt;id&gt;/grant-table  grant table, 8-byte v1 entries
 *   root/evtchn/                   event-channel port registry and sockets
 *   root/grant-mappings/&lt;id&gt;/     one file per live mapping of domain id's grants
 * </pre>
 */
public record SimLayout(Path root) {

    public Path xenstoreDir() {
        return root.resolve("xenstored");
    }

    public Path xenstoreSocket(int domid) {
        return domid == 0 ? xenstoreDir().resolve("socket") : xenstoreDir().resolve("socket.d" + domid);
    }

    public Path domainDir(int domid) {
        return root.resolve("domains").resolve(Integer.toString(domid));
    }

    public Path memoryFile(int domid) {
        return domainDir(domid).resolve("memory");
    }

    public Path grantTableFile(int domid) {
        return domainDir(domid).resolve("grant-table");
    }

    /** Kept apart from {@link #domainDir}: a destroyed domain's grants may still be mapped. */
    public Path grantMappingsDir(int domid) {
        return root.resolve("grant-mappings").resolve(Integer.toString(domid));
    }

    public Path evtchnDir() {
        return root.resolve("evtchn");
    }
}
