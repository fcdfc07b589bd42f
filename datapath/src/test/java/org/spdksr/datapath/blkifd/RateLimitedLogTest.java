package org.spdksr.datapath.blkifd;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The budget's policy, on its own clock: no sleeping, no timing. */
class RateLimitedLogTest {
    private static final Logger LOG = LoggerFactory.getLogger(RateLimitedLogTest.class);
    private static final Duration MINUTE = Duration.ofSeconds(60);

    private final AtomicLong now = new AtomicLong(1_000);
    private final RateLimitedLog log = new RateLimitedLog("vbd 7/51712", 10, MINUTE, now::get);

    private void warn(int times) {
        for (int i = 0; i < times; i++) {
            log.warn(LOG, "vbd 7/51712 q0: rejected request {} (op {}): {}", i, 42, "unknown operation");
        }
    }

    @Test
    void theFirstLinesAreWrittenThenOnlyCounted() {
        warn(10);
        assertThat(log.accounting()).isEqualTo(new RateLimitedLog.Accounting(10, 0, 0, log.accounting().bytesWritten()));
        warn(100_000);
        RateLimitedLog.Accounting a = log.accounting();
        assertThat(a.written()).isEqualTo(10);
        assertThat(a.suppressed()).isEqualTo(100_000);
        assertThat(a.summaries()).as("no summary before the interval has passed").isZero();
    }

    @Test
    void atMostOneSummaryPerInterval() {
        warn(10_000);
        now.addAndGet(MINUTE.toNanos() - 1);
        warn(1_000);
        assertThat(log.accounting().summaries()).as("one nanosecond short of the interval").isZero();
        now.addAndGet(1);
        warn(1_000);
        assertThat(log.accounting().summaries()).isEqualTo(1);
        // A whole day of a flood at every tick of the clock: one summary a minute, no more.
        for (int minute = 0; minute < 24 * 60; minute++) {
            now.addAndGet(MINUTE.toNanos() / 4);
            warn(50);
            now.addAndGet(MINUTE.toNanos() / 4 * 3);
            warn(50);
        }
        RateLimitedLog.Accounting a = log.accounting();
        assertThat(a.summaries()).isEqualTo(1 + 24 * 60);
        assertThat(a.written()).isEqualTo(10);
        assertThat(a.suppressed()).isEqualTo(10_000 - 10 + 2_000 + 24 * 60 * 100);
    }

    @Test
    void aSummaryCountsWhatWasHeldBackSinceTheLastOneAndIsBounded() {
        warn(10);
        long afterBurst = log.accounting().bytesWritten();
        warn(5_000);
        now.addAndGet(MINUTE.toNanos());
        warn(1);
        long summaryBytes = log.accounting().bytesWritten() - afterBurst;
        assertThat(summaryBytes).as("one summary line").isBetween(50L, 400L);
    }

    @Test
    void flushReportsWhatIsPendingOnceAndNothingWhenNothingIs() {
        log.flush();
        assertThat(log.accounting().summaries()).as("nothing held back, nothing to say").isZero();
        warn(12);
        log.flush();
        log.flush();
        assertThat(log.accounting().summaries()).isEqualTo(1);
    }

    @Test
    void aZeroBurstWritesOnlySummaries() {
        RateLimitedLog quiet = new RateLimitedLog("vbd 7/51712", 0, MINUTE, now::get);
        quiet.warn(LOG, "x {}", 1);
        assertThat(quiet.accounting().written()).isZero();
        assertThat(quiet.accounting().suppressed()).isEqualTo(1);
    }
}
