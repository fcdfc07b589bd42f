package org.spdksr.datapath.sim.blkfront;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Keeps {@code inFlightPerQueue} requests in flight on every queue of a connected blkfront, with a
 * random mix of operations, sizes and offsets, and checks every read against a {@link DiskModel}.
 * Requests in flight never overlap, so the model is exact: whatever the backend reorders, a read
 * must return what the last completed write put there. Used by tests and the benchmark.
 */
public final class LoadGenerator {
    private static final int SECTOR = 512;
    private static final int MAX_PROBLEMS = 20;

    private final SimBlkfront front;
    private final LoadSpec spec;
    private final DiskModel model;
    private final Random random;
    private final List<long[]> busy = new ArrayList<>();
    private final List<String> problems = new ArrayList<>();
    private final AtomicLong issued = new AtomicLong();
    private long reads;
    private long writes;
    private long flushes;
    private long discards;
    private long bytesRead;
    private long bytesWritten;
    private long errors;
    private long mismatches;
    private long completed;
    private long deadline;
    private CountDownLatch finished;
    private volatile boolean stopped;

    public LoadGenerator(SimBlkfront front, LoadSpec spec) {
        if (spec.firstSector() + spec.sectorCount() > front.sectors()) {
            throw new IllegalArgumentException("load region " + spec.firstSector() + "+" + spec.sectorCount()
                    + " is past the end of a disk of " + front.sectors() + " sectors");
        }
        this.front = front;
        this.spec = spec;
        this.model = new DiskModel(spec.firstSector(), spec.sectorCount());
        this.random = new Random(spec.seed());
    }

    /** The model, to check the disk further after the run. */
    public DiskModel model() {
        return model;
    }

    /** Ends the run early: requests in flight complete, no new ones start. */
    public void stop() {
        stopped = true;
    }

    /** Requests completed so far, while the load runs: progress for a test that interrupts the backend. */
    public synchronized long completed() {
        return completed;
    }

    /** Runs the load to the end (request count or duration) and reports. */
    public LoadReport run() throws InterruptedException {
        int queues = front.queueCount();
        long start = System.nanoTime();
        deadline = start + spec.maxDuration().toNanos();
        finished = new CountDownLatch(queues * spec.inFlightPerQueue());
        for (int q = 0; q < queues; q++) {
            for (int i = 0; i < spec.inFlightPerQueue(); i++) {
                next(q);
            }
        }
        if (!finished.await(spec.maxDuration().toMillis() + 60_000, TimeUnit.MILLISECONDS)) {
            synchronized (this) {
                problem("requests still in flight 60 s after the end of the run");
                errors++;
            }
        }
        synchronized (this) {
            return new LoadReport(completed, reads, writes, flushes, discards, bytesRead, bytesWritten, errors,
                    mismatches, problems, Duration.ofNanos(System.nanoTime() - start));
        }
    }

    /** Issues the next request of one in-flight "lane", or ends the lane. */
    private void next(int queue) {
        if (stopped || issued.getAndIncrement() >= spec.requests() || System.nanoTime() - deadline > 0) {
            finished.countDown();
            return;
        }
        Issued issued;
        synchronized (this) {
            try {
                issued = issue(queue);
            } catch (RuntimeException e) {
                // The frontend refused to issue it (disconnected, out of guest memory): end this lane.
                errors++;
                problem("issuing on queue " + queue + " failed: " + e);
                finished.countDown();
                return;
            }
        }
        CompletableFuture<Response> f = issued.future();
        Runnable onOk = issued.onOk();
        long[] range = issued.range();
        String what = issued.what();
        f.whenComplete((r, e) -> {
            synchronized (this) {
                completed++;
                if (range != null) {
                    busy.remove(range);
                }
                if (e != null) {
                    errors++;
                    problem(what + " on queue " + queue + " failed: " + e);
                } else if (!r.ok()) {
                    errors++;
                    problem(what + " on queue " + queue + " answered status " + r.status());
                    if (range != null) {
                        model.forget(range[0], range[1]);
                    }
                } else if (onOk != null) {
                    onOk.run();
                } else {
                    reads++;
                    bytesRead += r.data().length;
                    String diff = model.check(range[0], r.data());
                    if (diff != null) {
                        mismatches++;
                        problem(what + " on queue " + queue + ": " + diff);
                    }
                }
            }
            if (e != null) {
                finished.countDown(); // a failed future means the queue is gone: end this lane
            } else {
                next(queue);
            }
        });
    }

    /** A request on its way: its future, what to record when it succeeds (null: a read to check). */
    private record Issued(CompletableFuture<Response> future, Runnable onOk, long[] range, String what) {
    }

    private Issued issue(int queue) {
        BackendInfo info = front.backendInfo();
        int op = pick(info);
        if (op == 2) {
            return new Issued(front.submit(queue, Operation.FLUSH_DISKCACHE, 0, new byte[0]), () -> flushes++, null,
                    "flush");
        }
        long[] range = reserve(op == 3 ? discardGranularity(info) : 1);
        long sector = range[0];
        int count = (int) range[1];
        try {
            if (op == 0) {
                return new Issued(front.submit(queue, Operation.READ, sector, new byte[count * SECTOR], firstSect()),
                        null, range, "read " + sector + "+" + count);
            }
            if (op == 1) {
                byte[] data = new byte[count * SECTOR];
                random.nextBytes(data);
                return new Issued(front.submit(queue, Operation.WRITE, sector, data, firstSect()), () -> {
                    model.written(sector, data);
                    writes++;
                    bytesWritten += data.length;
                }, range, "write " + sector + "+" + count);
            }
            model.forget(sector, count); // unspecified from the moment it is issued
            return new Issued(front.discard(queue, sector, count, false), () -> discards++, range,
                    "discard " + sector + "+" + count);
        } catch (RuntimeException e) {
            busy.remove(range);
            throw e;
        }
    }

    private int pick(BackendInfo info) {
        int flush = info.flushCache() ? spec.flushWeight() : 0;
        int discard = info.discard() && !info.readOnly() ? spec.discardWeight() : 0;
        int write = info.readOnly() ? 0 : spec.writeWeight();
        int total = spec.readWeight() + write + flush + discard;
        if (total <= 0) {
            throw new IllegalStateException("no operation of the load spec is possible on this disk");
        }
        int x = random.nextInt(total);
        if ((x -= spec.readWeight()) < 0) {
            return 0;
        }
        if ((x -= write) < 0) {
            return 1;
        }
        return x - flush < 0 ? 2 : 3;
    }

    private static int discardGranularity(BackendInfo info) {
        return (int) Math.max(1, info.discardGranularity() / SECTOR);
    }

    private int firstSect() {
        return spec.alignedToPages() ? 0 : random.nextInt(8);
    }

    /** The largest read or write the frontend can put in one request, whatever the buffer offset. */
    private int sendableSectors() {
        int pages = front.indirectSegments() > 0 ? Math.max(front.indirectSegments(), RequestEncoder.MAX_SLOT_SEGMENTS)
                : RequestEncoder.MAX_SLOT_SEGMENTS;
        return spec.alignedToPages() ? pages * 8 : pages * 8 - 7;
    }

    /** A random range that overlaps nothing in flight; a few tries, then the smallest size. */
    private long[] reserve(int alignment) {
        int max = Math.min(spec.maxSectors(), Math.max(spec.minSectors(), sendableSectors()));
        int span = max - spec.minSectors() + 1;
        for (int attempt = 0; ; attempt++) {
            int count = attempt < 32 ? spec.minSectors() + random.nextInt(span) : spec.minSectors();
            count = Math.max(alignment, count / alignment * alignment);
            long slots = (spec.sectorCount() - count) / alignment + 1;
            long sector = spec.firstSector() + (long) random.nextInt((int) Math.min(Integer.MAX_VALUE, slots))
                    * alignment;
            if (free(sector, count)) {
                long[] r = {sector, count};
                busy.add(r);
                return r;
            }
            if (attempt > 10_000) {
                throw new IllegalStateException("cannot find a free range: the region of " + spec.sectorCount()
                        + " sectors is too small for " + busy.size() + " requests in flight");
            }
        }
    }

    private boolean free(long sector, long count) {
        for (long[] b : busy) {
            if (sector < b[0] + b[1] && b[0] < sector + count) {
                return false;
            }
        }
        return true;
    }

    private void problem(String p) {
        if (problems.size() < MAX_PROBLEMS) {
            problems.add(p);
        }
    }
}
