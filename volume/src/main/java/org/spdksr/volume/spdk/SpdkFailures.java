package org.spdksr.volume.spdk;

import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;
import org.spdksr.plugin.spdk.SpdkRpcException;

/**
 * Turns a failed SPDK call into the error an administrator reads in xe or Xen Orchestra: a
 * machine-readable reason (the second parameter) and a sentence saying what failed, on what, and
 * what to do, with SPDK's own text kept for support.
 */
final class SpdkFailures {
    private SpdkFailures() {}

    /**
     * @param doing what spdk-sr was doing, e.g. "create volume 1234 in lvstore spdksr-…"
     * @param object the SR handle, volume key or device the failure concerns
     */
    static SmapiException of(SpdkRpcException e, String doing, String object) {
        String reason;
        String advice;
        switch (e.kind()) {
            case NOT_RUNNING -> {
                reason = "SPDK_not_running";
                advice = "spdk_tgt is not running or not answering on " + e.socket() + ". Start it with 'systemctl start spdk-sr-tgt' (see 'journalctl -u spdk-sr-tgt'), then retry.";
            }
            case NO_SPACE -> {
                reason = "SR_full";
                advice = "The lvstore is full. Destroy volumes or snapshots you no longer need, then retry.";
            }
            case EXISTS -> {
                reason = "Name_exists";
                advice = "An object of that name already exists in spdk_tgt, probably left by an interrupted call. "
                        + "Run 'xe sr-scan' to adopt or clean it up, then retry.";
            }
            case NOT_PERMITTED -> {
                reason = "Device_in_use";
                advice = "SPDK refused: the device or volume is in use (for example the base bdev is claimed by "
                        + "another lvstore or module). Release it first or choose another device.";
            }
            case NOT_FOUND -> {
                reason = "SPDK_object_missing";
                advice = "spdk_tgt does not know it: it may have been restarted without its saved configuration. "
                        + "Re-plug the SR (xe pbd-plug) so that the base device is attached again.";
            }
            case TIMEOUT -> {
                reason = "SPDK_timeout";
                advice = "spdk_tgt did not answer in time; check 'journalctl -u spdk-sr-tgt' and retry.";
            }
            default -> {
                reason = "SPDK_error";
                advice = "See 'journalctl -u spdk-sr-tgt' for details.";
            }
        }
        return new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE", reason, object),
                "Cannot " + doing + ": " + advice + " [" + e.getMessage() + "]", e);
    }
}
