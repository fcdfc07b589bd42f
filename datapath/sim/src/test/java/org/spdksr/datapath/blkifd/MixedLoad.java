package org.spdksr.datapath.blkifd;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.spdksr.datapath.sim.blkfront.Operation;
import org.spdksr.datapath.sim.blkfront.RequestEncoder;
import org.spdksr.datapath.sim.blkfront.Response;
import org.spdksr.datapath.sim.blkfront.SimBlkfront;

/**
 * Test fixture: a verified random mix over every queue of a connected frontend, with every
 * operation the backend offers: READ, WRITE, FLUSH_DISKCACHE and WRITE_BARRIER with and without
 * data, DISCARD; sizes from one sector to the largest request the frontend can send (indirect,
 * up to 256 segments), starting at any sector of the first page. Requests in flight never
 * overlap, so the model of the region is exact; it starts from the file's bytes, every read is
 * checked against it, and at the end the caller compares it with the file.
 */
final class MixedLoad {
    private static final int SECTOR = 512;

    enum Op { READ, WRITE, FLUSH_DATA, BARRIER_DATA, FLUSH, BARRIER, DISCARD }

    private final SimBlkfront front;
    private final Random random;
    private final long first;
    private final int count;
    final byte[] model;
    private final List<long[]> busy = new ArrayList<>();
    final List<String> problems = new ArrayList<>();
    final long[] done = new long[Op.values().length];
    long indirectRequests;
    long unalignedRequests;
    private long issued;
    private long limit;
    private CountDownLatch lanes;

    /** @param initial the region's bytes now (from the file) */
    MixedLoad(SimBlkfront front, long firstSector, byte[] initial, long seed) {
        this.front = front;
        this.random = new Random(seed);
        this.first = firstSector;
        this.count = initial.length / SECTOR;
        this.model = initial.clone();
    }

    /** Runs {@code total} requests with {@code perQueue} in flight on each queue. */
    void run(int perQueue, long total) throws InterruptedException {
        limit = total;
        int queues = front.queueCount();
        lanes = new CountDownLatch(queues * perQueue);
        for (int q = 0; q < queues; q++) {
            for (int i = 0; i < perQueue; i++) {
                next(q);
            }
        }
        if (!lanes.await(150, TimeUnit.SECONDS)) {
            synchronized (this) {
                problems.add("requests still in flight after 150 s");
            }
        }
    }

    private record Issued(CompletableFuture<Response> future, Op op, long sector, byte[] data, long[] range) {
    }

    private void next(int queue) {
        Issued is;
        synchronized (this) {
            if (issued++ >= limit) {
                lanes.countDown();
                return;
            }
            try {
                is = issue(queue);
            } catch (RuntimeException e) {
                problems.add("issuing on queue " + queue + ": " + e);
                lanes.countDown();
                return;
            }
        }
        is.future().whenComplete((r, e) -> {
            synchronized (this) {
                if (is.range() != null) {
                    busy.remove(is.range());
                }
                if (e != null) {
                    problems.add(is.op() + " " + is.sector() + " on queue " + queue + " failed: " + e);
                } else if (!r.ok()) {
                    problems.add(is.op() + " " + is.sector() + "+" + (is.range() == null ? 0 : is.range()[1])
                            + " on queue " + queue + " answered " + r.status());
                } else {
                    done[is.op().ordinal()]++;
                    int at = (int) ((is.sector() - first) * SECTOR);
                    switch (is.op()) {
                        case READ -> {
                            byte[] d = r.data();
                            for (int i = 0; i < d.length; i++) {
                                if (d[i] != model[at + i]) {
                                    problems.add("read " + is.sector() + "+" + d.length / SECTOR + " on queue " + queue
                                            + ": byte " + i + " is " + d[i] + ", the model says " + model[at + i]);
                                    break;
                                }
                            }
                        }
                        case WRITE, FLUSH_DATA, BARRIER_DATA -> System.arraycopy(is.data(), 0, model, at,
                                is.data().length);
                        case DISCARD -> java.util.Arrays.fill(model, at, at + (int) is.range()[1] * SECTOR, (byte) 0);
                        default -> { }
                    }
                }
            }
            if (e == null) {
                next(queue);
            } else {
                lanes.countDown();
            }
        });
    }

    private Issued issue(int queue) {
        int x = random.nextInt(100);
        Op op = x < 30 ? Op.READ : x < 60 ? Op.WRITE : x < 68 ? Op.FLUSH_DATA : x < 75 ? Op.BARRIER_DATA
                : x < 80 ? Op.FLUSH : x < 85 ? Op.BARRIER : Op.DISCARD;
        if (op == Op.DISCARD && !front.backendInfo().discard()) {
            op = Op.WRITE;
        }
        if (op == Op.FLUSH || op == Op.BARRIER) {
            Operation o = op == Op.FLUSH ? Operation.FLUSH_DISKCACHE : Operation.WRITE_BARRIER;
            return new Issued(front.submit(queue, o, 0, new byte[0]), op, 0, null, null);
        }
        if (op == Op.DISCARD) {
            long[] range = reserve(8 * (1 + random.nextInt(32)), 8);
            return new Issued(front.discard(queue, range[0], range[1], false), op, range[0], null, range);
        }
        int firstSect = random.nextInt(8);
        // Flushes and barriers with data are never indirect (§1.4): at most 11 pages.
        boolean direct = op != Op.READ && op != Op.WRITE || front.indirectSegments() == 0;
        int maxPages = direct ? RequestEncoder.MAX_SLOT_SEGMENTS : front.indirectSegments();
        int maxSectors = maxPages * 8 - firstSect;
        int y = random.nextInt(100);
        int sectors = y < 60 ? 1 + random.nextInt(Math.min(16, maxSectors))
                : y < 90 ? 1 + random.nextInt(Math.min(128, maxSectors))
                : 1 + random.nextInt(Math.min(maxSectors, 2048));
        long[] range = reserve(sectors, 1);
        long sector = range[0];
        sectors = (int) range[1];
        int pages = (firstSect + sectors + 7) / 8;
        if (pages > RequestEncoder.MAX_SLOT_SEGMENTS || front.options().indirect()
                == org.spdksr.datapath.sim.blkfront.FrontOptions.IndirectPolicy.ALWAYS && !direct) {
            indirectRequests++;
        }
        if (firstSect != 0 || (firstSect + sectors) % 8 != 0) {
            unalignedRequests++;
        }
        if (op == Op.READ) {
            return new Issued(front.submit(queue, Operation.READ, sector, new byte[sectors * SECTOR], firstSect), op,
                    sector, null, range);
        }
        byte[] data = new byte[sectors * SECTOR];
        random.nextBytes(data);
        Operation o = op == Op.WRITE ? Operation.WRITE : op == Op.FLUSH_DATA ? Operation.FLUSH_DISKCACHE
                : Operation.WRITE_BARRIER;
        return new Issued(front.submit(queue, o, sector, data, firstSect), op, sector, data, range);
    }

    private long[] reserve(int sectors, int align) {
        for (int attempt = 0; attempt < 100_000; attempt++) {
            int n = attempt < 64 ? sectors : Math.max(align, 8);
            long slots = (count - n) / align + 1;
            long sector = first + (long) random.nextInt((int) slots) * align;
            if (busy.stream().noneMatch(b -> sector < b[0] + b[1] && b[0] < sector + n)) {
                long[] r = {sector, n};
                busy.add(r);
                return r;
            }
        }
        throw new IllegalStateException("no free range for " + sectors + " sectors");
    }
}
