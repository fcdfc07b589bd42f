package org.spdksr.datapath.xen.sim.evtchn;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The pending/mask state of the ports of one evtchn instance, with the semantics of the Linux
 * driver (blkif.md §3): an event on an unmasked port queues it and masks it; an event on a masked
 * port only sets its pending bit, which is delivered again when the port is unmasked.
 */
final class PendingPorts {
    private static final class State {
        boolean masked;
        boolean pendingWhileMasked;
    }

    private final Map<Integer, State> ports = new HashMap<>();
    private final List<Integer> ready = new ArrayList<>();
    private boolean closed;

    synchronized void bind(int port) {
        ports.put(port, new State());
    }

    synchronized void unbind(int port) {
        ports.remove(port);
        ready.remove(Integer.valueOf(port));
    }

    synchronized boolean isBound(int port) {
        return ports.containsKey(port);
    }

    synchronized int[] bound() {
        return ports.keySet().stream().mapToInt(Integer::intValue).toArray();
    }

    synchronized void signal(int port) {
        State s = ports.get(port);
        if (s == null) {
            return;
        }
        if (s.masked) {
            s.pendingWhileMasked = true;
            return;
        }
        s.masked = true;
        ready.add(port);
        notifyAll();
    }

    synchronized void unmask(int port) {
        State s = ports.get(port);
        if (s == null) {
            return;
        }
        s.masked = false;
        if (s.pendingWhileMasked) {
            s.pendingWhileMasked = false;
            s.masked = true;
            ready.add(port);
            notifyAll();
        }
    }

    /** Takes every queued port, waiting up to {@code timeout} for the first; empty on timeout or close. */
    synchronized int[] await(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (ready.isEmpty() && !closed) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return new int[0];
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        int[] out = ready.stream().mapToInt(Integer::intValue).toArray();
        ready.clear();
        return out;
    }

    synchronized void close() {
        closed = true;
        notifyAll();
    }
}
