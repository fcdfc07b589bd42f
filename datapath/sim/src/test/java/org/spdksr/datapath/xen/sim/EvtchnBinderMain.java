package org.spdksr.datapath.xen.sim;

import java.nio.file.Path;
import org.spdksr.datapath.xen.sim.evtchn.SimEventChannels;

/**
 * A backend process that only binds one interdomain port and waits to be killed:
 * {@code EvtchnBinderMain <layout root> <remote domid> <remote port>}. It prints the local port once
 * bound, so a test knows the binding exists before it kills the process.
 */
public final class EvtchnBinderMain {
    private EvtchnBinderMain() {
    }

    public static void main(String[] args) throws Exception {
        SimEventChannels events = SimEventChannels.open(new SimLayout(Path.of(args[0])), 0);
        int port = events.bindInterdomain(Integer.parseInt(args[1]), Integer.parseInt(args[2]));
        System.out.println("bound " + port);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
