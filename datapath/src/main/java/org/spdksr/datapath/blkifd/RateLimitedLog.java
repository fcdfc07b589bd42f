package org.spdksr.datapath.blkifd;

import java.time.Duration;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.helpers.FormattingTuple;
import org.slf4j.helpers.MessageFormatter;

/**
 * The log lines one device's guest can cause (a rejected request, a refused grant copy, a refused
 * handshake). A guest can cause them as fast as it can fill its ring, and blkifd's log lives in
 * RAM under /run, so they are bounded per device: the first {@code burst} lines are written as
 * they come; after that a line is only counted, and at most one summary line per
 * {@code interval} says how many were held back and what the last one said. Over a device's life
 * that is at most {@code burst + elapsed / interval} lines (plus one from {@link #flush}), however
 * many requests or connection attempts the guest makes.
 *
 * <p>The summary is written when a held-back line arrives after the interval has passed (no
 * timer thread) and by {@link #flush} when the device's service ends, so that no count is lost.
 * Messages are formatted only when written: a held-back line costs a counter and two references.
 */
final class RateLimitedLog {
    static final int DEFAULT_BURST = 10;
    static final Duration DEFAULT_INTERVAL = Duration.ofSeconds(60);

    /**
     * What the limiter did so far, for tests and {@code spdk-sr status}. {@code bytesWritten}
     * counts the characters of the messages written (not stack traces, not the logger's prefix).
     */
    record Accounting(long written, long suppressed, long summaries, long bytesWritten) {}

    private final String device;
    private final int burst;
    private final long intervalNanos;
    private final LongSupplier nanoClock;

    private long written;
    private long suppressed;
    private long summaries;
    private long bytesWritten;
    /** Held back since the last summary, and the last of them (formatted only if it is reported). */
    private long pending;
    private Logger lastLog;
    private String lastFormat;
    private Object[] lastArguments;
    private long lastSummaryAt;

    /**
     * @param device named in the summary line
     * @param nanoClock {@link System#nanoTime} in service; a test's own clock otherwise
     */
    RateLimitedLog(String device, int burst, Duration interval, LongSupplier nanoClock) {
        if (burst < 0 || interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("burst must be >= 0 and the interval positive");
        }
        this.device = device;
        this.burst = burst;
        this.intervalNanos = interval.toNanos();
        this.nanoClock = nanoClock;
        this.lastSummaryAt = nanoClock.getAsLong();
    }

    /** The service's policy: 10 lines, then one summary a minute. */
    static RateLimitedLog forDevice(String device) {
        return new RateLimitedLog(device, DEFAULT_BURST, DEFAULT_INTERVAL, System::nanoTime);
    }

    /**
     * A WARN line in slf4j's {@code {}} format on {@code log} (the caller's, so that lines keep
     * their origin), if the budget allows; else counted. A trailing Throwable argument is logged
     * with its stack trace, as slf4j does.
     */
    void warn(Logger log, String format, Object... arguments) {
        String line;
        Throwable trace = null;
        Logger to = log;
        synchronized (this) {
            if (written < burst) {
                written++;
                FormattingTuple formatted = MessageFormatter.arrayFormat(format, arguments);
                line = formatted.getMessage();
                trace = formatted.getThrowable();
                bytesWritten += line.length();
            } else {
                suppressed++;
                pending++;
                lastLog = log;
                lastFormat = format;
                lastArguments = arguments;
                line = summaryIfDue(false);
            }
        }
        if (line != null && trace != null) {
            to.warn(line, trace);
        } else if (line != null) {
            to.warn(line);
        }
    }

    /** Reports what is held back now, whatever the interval (the device's service ends). */
    void flush() {
        String line;
        Logger to;
        synchronized (this) {
            to = lastLog;
            line = summaryIfDue(true);
        }
        if (line != null) {
            to.warn(line);
        }
    }

    synchronized Accounting accounting() {
        return new Accounting(written, suppressed, summaries, bytesWritten);
    }

    private String summaryIfDue(boolean now) {
        long at = nanoClock.getAsLong();
        if (pending == 0 || (!now && at - lastSummaryAt < intervalNanos)) {
            return null;
        }
        String last = MessageFormatter.arrayFormat(lastFormat, lastArguments).getMessage();
        String line = device + ": " + pending + " more warning(s) caused by the guest were not logged (at most "
                + burst + " lines, then one summary every " + intervalNanos / 1_000_000_000L
                + " s; 'spdk-sr status' counts rejected requests); the last: " + last;
        pending = 0;
        lastLog = null;
        lastFormat = null;
        lastArguments = null;
        lastSummaryAt = at;
        summaries++;
        bytesWritten += line.length();
        return line;
    }
}
