package org.spdksr.datapath.sim.bench;

import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.spdksr.datapath.sim.blkfront.Operation;
import org.spdksr.datapath.sim.blkfront.Response;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;

/**
 * Keeps {@code depth} requests in flight through the guest's ring for a fixed time, with no data
 * checking (the tests do that): each lane issues its next request when the previous completes.
 * Operations completed during a warm-up are not counted.
 */
final class RingLoad {
    private final SimBlkfront front;
    private final Workload workload;
    private final int depth;
    private final long diskBytes;

    RingLoad(SimBlkfront front, Workload workload, int depth, long diskBytes) {
        this.front = front;
        this.workload = workload;
        this.depth = depth;
        this.diskBytes = diskBytes;
    }

    Result run(double warmupSeconds, double seconds) throws InterruptedException {
        long slots = diskBytes / workload.bytes();
        AtomicLong nextSequential = new AtomicLong();
        AtomicLong counted = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        long start = System.nanoTime();
        long measureFrom = start + (long) (warmupSeconds * 1e9);
        long end = measureFrom + (long) (seconds * 1e9);
        CountDownLatch lanes = new CountDownLatch(depth);
        for (int lane = 0; lane < depth; lane++) {
            byte[] buffer = new byte[workload.bytes()];
            new Random(lane).nextBytes(buffer);
            Random random = new Random(1000 + lane);
            issue(buffer, random, slots, nextSequential, counted, failures, measureFrom, end, lanes);
        }
        if (!lanes.await((long) (warmupSeconds + seconds) + 60, TimeUnit.SECONDS)) {
            throw new IllegalStateException(workload.name() + " at depth " + depth + ": requests did not complete");
        }
        if (failures.get() > 0) {
            throw new IllegalStateException(workload.name() + ": " + failures.get() + " requests failed");
        }
        return new Result(counted.get(), counted.get() * workload.bytes(), seconds);
    }

    private void issue(byte[] buffer, Random random, long slots, AtomicLong nextSequential, AtomicLong counted,
            AtomicLong failures, long measureFrom, long end, CountDownLatch lanes) {
        long now = System.nanoTime();
        if (now - end >= 0) {
            lanes.countDown();
            return;
        }
        long slot = workload.sequential() ? nextSequential.getAndIncrement() % slots : (random.nextLong() & Long.MAX_VALUE) % slots;
        long sector = slot * workload.bytes() / SimBlkfront.SECTOR;
        Operation op = workload.write() ? Operation.WRITE : Operation.READ;
        front.submit(0, op, sector, buffer).whenComplete((Response r, Throwable e) -> {
            if (e != null || !r.ok()) {
                failures.incrementAndGet();
                lanes.countDown();
                return;
            }
            long done = System.nanoTime();
            if (done - measureFrom >= 0 && done - end < 0) {
                counted.incrementAndGet();
            }
            issue(buffer, random, slots, nextSequential, counted, failures, measureFrom, end, lanes);
        });
    }
}
