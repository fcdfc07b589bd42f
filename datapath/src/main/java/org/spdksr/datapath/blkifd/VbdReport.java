package org.spdksr.datapath.blkifd;

/**
 * What {@code spdk-sr status} shows of one ring connection: the handshake state, what the
 * frontend negotiated (blkif.md §5.5) and the counters (like {@code tap-ctl stats}). Lives in this
 * package because the negotiated connection is package-private.
 *
 * @param ringOrder -1 while not connected
 * @param guestLogLinesHeldBack log lines the guest caused that the per-device budget did not write
 *     ({@link RateLimitedLog}); the requests behind them are still counted in {@code counters}
 */
public record VbdReport(String name, String state, int ringOrder, int queues, String protocol,
        boolean persistentGrants, QueueCounters.Snapshot counters, long guestLogLinesHeldBack) {

    public static VbdReport of(VbdBackend vbd) {
        FrontendConnection c = vbd.connection().orElse(null);
        return new VbdReport(vbd.name(), vbd.state().name(), c == null ? -1 : c.ringPageOrder(),
                c == null ? 0 : c.queues().size(), c == null ? "" : c.abi().protocolName(),
                c != null && c.persistent(), vbd.counters(), vbd.guestLogAccounting().suppressed());
    }
}
