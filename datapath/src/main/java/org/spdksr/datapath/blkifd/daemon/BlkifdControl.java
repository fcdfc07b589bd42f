package org.spdksr.datapath.blkifd.daemon;

/**
 * blkifd's control socket (JSON-RPC 2.0, one request per connection). The datapath commands
 * change {@code state.json} and then ask blkifd to {@link #reconcile}, so every call is idempotent
 * and a restarted blkifd needs no replay of past calls.
 */
public interface BlkifdControl {

    /** Makes the served disks match {@code state.json}; returns the result per disk. */
    DaemonStatus reconcile();

    /** Domain, disks and per-disk counters, for {@code spdk-sr status}. */
    DaemonStatus status();

    /** Stops serving every disk (flushing them) and exits shortly after answering. */
    DaemonStatus shutdown();
}
