package org.spdksr.datapath.sim.blkfront;

import java.time.Duration;
import java.util.List;

/**
 * What a load run did. {@code errors} counts non-OKAY statuses and failed futures;
 * {@code mismatches} counts reads whose data differed from the model; {@code problems} describes
 * the first few of both.
 */
public record LoadReport(long requests, long reads, long writes, long flushes, long discards, long bytesRead,
        long bytesWritten, long errors, long mismatches, List<String> problems, Duration elapsed) {

    public LoadReport {
        problems = List.copyOf(problems);
    }

    public boolean clean() {
        return errors == 0 && mismatches == 0;
    }

    public double iops() {
        return requests / seconds();
    }

    /** MiB per second, reads and writes together. */
    public double mibPerSecond() {
        return (bytesRead + bytesWritten) / (1024.0 * 1024.0) / seconds();
    }

    private double seconds() {
        return Math.max(elapsed.toNanos(), 1) / 1e9;
    }
}
