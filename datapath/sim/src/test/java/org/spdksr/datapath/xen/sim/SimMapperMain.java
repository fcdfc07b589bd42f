package org.spdksr.datapath.xen.sim;

import java.util.List;
import org.spdksr.datapath.xen.grant.GrantMapping;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.sim.grant.SimGrantAccess;

/**
 * A backend process for {@link SimGrantMappingsTest}: maps one grant of a simulated guest, says
 * "mapped" on stdout and keeps the mapping until it is killed.
 */
public final class SimMapperMain {
    private SimMapperMain() {
    }

    public static void main(String[] args) throws Exception {
        SimLayout layout = new SimLayout(java.nio.file.Path.of(args[0]));
        GrantRef ref = new GrantRef(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
        try (SimGrantAccess grants = new SimGrantAccess(layout, 0);
                GrantMapping m = grants.map(List.of(ref), true)) {
            System.out.println("mapped " + m.pageCount());
            System.out.flush();
            Thread.sleep(120_000);
        }
    }
}
