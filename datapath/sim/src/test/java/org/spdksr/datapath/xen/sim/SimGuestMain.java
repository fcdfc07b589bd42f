package org.spdksr.datapath.xen.sim;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import org.spdksr.datapath.xen.sim.evtchn.SimEventChannels;

/**
 * A simulated guest run as its own JVM by {@link TwoProcessGrantAndEventTest}. It grants three
 * pages (read-only to dom0, writable to dom0, writable to another domain), offers an event channel,
 * publishes both in xenstore, waits for the backend's notification, checks what the backend wrote
 * into its memory and answers through xenstore and a notification. Exit code 0 means all checks passed.
 */
public final class SimGuestMain {
    static final int RO_FRAME = 1;
    static final int RW_FRAME = 2;
    static final int OTHER_FRAME = 3;
    static final int OTHER_DOMAIN = 9;

    private SimGuestMain() {
    }

    static byte pattern(int i) {
        return (byte) (i * 31 + 7);
    }

    public static void main(String[] args) throws Exception {
        Path root = Path.of(args[0]);
        int domid = Integer.parseInt(args[1]);
        int backend = Integer.parseInt(args[2]);
        try (SimDomain dom = SimDomain.attach(new SimLayout(root), domid)) {
            ByteBuffer ro = dom.memory().page(RO_FRAME);
            for (int i = 0; i < 4096; i++) {
                ro.put(i, pattern(i));
            }
            int roRef = dom.grant(RO_FRAME, backend, true);
            int rwRef = dom.grant(RW_FRAME, backend, false);
            int otherRef = dom.grant(OTHER_FRAME, OTHER_DOMAIN, false);
            SimEventChannels ec = dom.eventChannels();
            int port = ec.bindUnbound(backend);
            String dir = dom.home() + "/test";
            dom.xenstore().transaction(tx -> {
                tx.write(dir + "/ro-ref", Integer.toString(roRef));
                tx.write(dir + "/rw-ref", Integer.toString(rwRef));
                tx.write(dir + "/other-ref", Integer.toString(otherRef));
                tx.write(dir + "/port", Integer.toString(port));
                tx.write(dir + "/state", "ready");
                return null;
            });

            Instant deadline = Instant.now().plusSeconds(60);
            boolean notified = false;
            while (!notified && Instant.now().isBefore(deadline)) {
                for (int p : ec.awaitPending(Duration.ofSeconds(1))) {
                    notified |= p == port;
                    ec.unmask(p);
                }
            }
            String result;
            if (!notified) {
                result = "no notification from the backend within 60 s";
            } else {
                result = check(dom.memory().page(RW_FRAME), ro);
            }
            dom.xenstore().write(dir + "/result", result);
            ec.notify(port);
            System.out.println("guest " + domid + " result: " + result);
            System.exit(result.equals("ok") ? 0 : 2);
        }
    }

    private static String check(ByteBuffer rw, ByteBuffer ro) {
        for (int i = 0; i < 4096; i++) {
            if (rw.get(i) != (byte) (pattern(i) + 1)) {
                return "rw page byte " + i + " is " + rw.get(i) + ", expected " + (byte) (pattern(i) + 1);
            }
            if (ro.get(i) != pattern(i)) {
                return "read-only page byte " + i + " changed";
            }
        }
        return "ok";
    }
}
