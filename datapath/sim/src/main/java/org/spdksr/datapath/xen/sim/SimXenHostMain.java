package org.spdksr.datapath.xen.sim;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Runs a simulated Xen host as its own process, for the demo and for poking at it by hand:
 * {@code SimXenHostMain <root> [<domid>:<pages>:<grant-entries> ...]}. It prints
 * {@code XENSTORED_PATH=<socket>} once ready and runs until its standard input closes or it is
 * terminated, so a parent can stop it by closing the pipe.
 */
public final class SimXenHostMain {
    private SimXenHostMain() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1) {
            System.err.println("usage: SimXenHostMain <root-dir> [<domid>:<pages>:<grant-entries> ...]");
            System.exit(2);
        }
        CountDownLatch stop = new CountDownLatch(1);
        try (SimXenHost host = SimXenHost.start(Path.of(args[0]))) {
            for (int i = 1; i < args.length; i++) {
                String[] spec = args[i].split(":");
                if (spec.length != 3) {
                    throw new IllegalArgumentException("domain spec '" + args[i] + "' is not <domid>:<pages>:<grant-entries>");
                }
                host.createDomain(Integer.parseInt(spec[0]), Integer.parseInt(spec[1]), Integer.parseInt(spec[2]));
            }
            Runtime.getRuntime().addShutdownHook(new Thread(stop::countDown));
            Thread stdin = new Thread(() -> {
                try {
                    while (System.in.read() >= 0) {
                        // Drain until the parent closes the pipe.
                    }
                } catch (IOException e) {
                    // Treat an unreadable stdin like a closed one.
                }
                stop.countDown();
            }, "stdin-watch");
            stdin.setDaemon(true);
            stdin.start();
            System.out.write(("XENSTORED_PATH=" + host.xenstoreSocket() + "\n").getBytes(StandardCharsets.UTF_8));
            System.out.flush();
            stop.await();
        }
    }
}
