package org.spdksr.datapath.blkifd;

import java.util.concurrent.atomic.LongAdder;

/** Per-queue counters, read by the status command (like tap-ctl stats). */
public final class QueueCounters {
    final LongAdder reads = new LongAdder();
    final LongAdder writes = new LongAdder();
    final LongAdder flushes = new LongAdder();
    final LongAdder discards = new LongAdder();
    final LongAdder bytesRead = new LongAdder();
    final LongAdder bytesWritten = new LongAdder();
    final LongAdder errors = new LongAdder();
    final LongAdder rejected = new LongAdder();
    final LongAdder notificationsSent = new LongAdder();

    public record Snapshot(long reads, long writes, long flushes, long discards, long bytesRead, long bytesWritten,
            long errors, long rejected, long notificationsSent) {}

    public Snapshot snapshot() {
        return new Snapshot(reads.sum(), writes.sum(), flushes.sum(), discards.sum(), bytesRead.sum(),
                bytesWritten.sum(), errors.sum(), rejected.sum(), notificationsSent.sum());
    }
}
