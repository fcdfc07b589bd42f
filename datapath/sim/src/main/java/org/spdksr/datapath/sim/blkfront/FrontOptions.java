package org.spdksr.datapath.sim.blkfront;

import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.spdksr.datapath.blkif.Abi;

/**
 * How a simulated blkfront behaves (blkif.md §5.5, §5.6, §2.3).
 *
 * @param abi the request layout used on the ring
 * @param writeProtocolKey false leaves {@code protocol} out, which a backend must read as x86_32 (§1.5)
 * @param ringOrder the frontend's maximum ring-page-order (0..4); the backend's maximum caps it
 * @param queues the frontend's maximum number of queues; {@code multi-queue-max-queues} caps it
 * @param indirect when to use BLKIF_OP_INDIRECT for reads and writes
 * @param maxIndirectSegments the frontend's cap; {@code feature-max-indirect-segments} caps it
 * @param persistentGrants write {@code feature-persistent=1} and, if the backend agrees, reuse a
 *     per-queue pool of RW-granted data pages
 * @param readOnlyWriteGrants grant the pages of writes read-only, as Windows xenvbd does (§2.2);
 *     persistent grants are always RW (blkif.h note 8)
 * @param waitForInitWait false skips ahead without waiting for the backend's InitWait (§5.6 step 3)
 * @param ignoreBackendLimits use {@code ringOrder} and {@code queues} as given, whatever the backend offers
 * @param followBackendClose answer a backend Closing by closing, as an idle Linux blkfront does
 * @param keyOverrides written last in the handshake transaction (relative to the frontend
 *     directory; a null value removes the key): the hostile handshakes
 * @param timeout how long each handshake wait lasts
 */
public record FrontOptions(Abi abi, boolean writeProtocolKey, int ringOrder, int queues, IndirectPolicy indirect,
        int maxIndirectSegments, boolean persistentGrants, boolean readOnlyWriteGrants, boolean waitForInitWait,
        boolean ignoreBackendLimits, boolean followBackendClose, Map<String, String> keyOverrides, Duration timeout) {

    /** When reads and writes go indirect (§1.6). */
    public enum IndirectPolicy {
        NEVER,
        /** Only when a request needs more than 11 segments (Linux, Windows). */
        WHEN_NEEDED,
        /** Every read and write, when the backend offers it. */
        ALWAYS
    }

    public FrontOptions {
        if (ringOrder < 0 || ringOrder > 8) {
            throw new IllegalArgumentException("ring order " + ringOrder + " (0..4 is the protocol's range)");
        }
        if (queues < 1) {
            throw new IllegalArgumentException("queues " + queues + " must be at least 1");
        }
        if (maxIndirectSegments < 0 || maxIndirectSegments > 4096) {
            throw new IllegalArgumentException("max indirect segments " + maxIndirectSegments + " outside 0..4096");
        }
        keyOverrides = Collections.unmodifiableMap(new LinkedHashMap<>(keyOverrides));
    }

    /** A 64-bit Linux blkfront with the project's favourite features: order 4, persistent, indirect. */
    public static FrontOptions defaults() {
        return new FrontOptions(Abi.X86_64, true, 4, 1, IndirectPolicy.WHEN_NEEDED, 256, true, false, true, false,
                true, Map.of(), Duration.ofSeconds(30));
    }

    /** A stock Linux guest: one page, one queue, 32 indirect segments, persistent grants (§1.2, §1.6). */
    public static FrontOptions stockLinux() {
        return defaults().withRingOrder(0).withMaxIndirectSegments(32);
    }

    /** Windows xenvbd: order 4, read-only grants for writes, no persistent grants (§2.2, §5.5). */
    public static FrontOptions windows() {
        return defaults().withPersistentGrants(false).withReadOnlyWriteGrants(true);
    }

    public FrontOptions withAbi(Abi v) {
        return new FrontOptions(v, writeProtocolKey, ringOrder, queues, indirect, maxIndirectSegments,
                persistentGrants, readOnlyWriteGrants, waitForInitWait, ignoreBackendLimits, followBackendClose,
                keyOverrides, timeout);
    }

    public FrontOptions withProtocolKey(boolean v) {
        return new FrontOptions(abi, v, ringOrder, queues, indirect, maxIndirectSegments, persistentGrants,
                readOnlyWriteGrants, waitForInitWait, ignoreBackendLimits, followBackendClose, keyOverrides, timeout);
    }

    public FrontOptions withRingOrder(int v) {
        return new FrontOptions(abi, writeProtocolKey, v, queues, indirect, maxIndirectSegments, persistentGrants,
                readOnlyWriteGrants, waitForInitWait, ignoreBackendLimits, followBackendClose, keyOverrides, timeout);
    }

    public FrontOptions withQueues(int v) {
        return new FrontOptions(abi, writeProtocolKey, ringOrder, v, indirect, maxIndirectSegments, persistentGrants,
                readOnlyWriteGrants, waitForInitWait, ignoreBackendLimits, followBackendClose, keyOverrides, timeout);
    }

    public FrontOptions withIndirect(IndirectPolicy v) {
        return new FrontOptions(abi, writeProtocolKey, ringOrder, queues, v, maxIndirectSegments, persistentGrants,
                readOnlyWriteGrants, waitForInitWait, ignoreBackendLimits, followBackendClose, keyOverrides, timeout);
    }

    public FrontOptions withMaxIndirectSegments(int v) {
        return new FrontOptions(abi, writeProtocolKey, ringOrder, queues, indirect, v, persistentGrants,
                readOnlyWriteGrants, waitForInitWait, ignoreBackendLimits, followBackendClose, keyOverrides, timeout);
    }

    public FrontOptions withPersistentGrants(boolean v) {
        return new FrontOptions(abi, writeProtocolKey, ringOrder, queues, indirect, maxIndirectSegments, v,
                readOnlyWriteGrants, waitForInitWait, ignoreBackendLimits, followBackendClose, keyOverrides, timeout);
    }

    public FrontOptions withReadOnlyWriteGrants(boolean v) {
        return new FrontOptions(abi, writeProtocolKey, ringOrder, queues, indirect, maxIndirectSegments,
                persistentGrants, v, waitForInitWait, ignoreBackendLimits, followBackendClose, keyOverrides, timeout);
    }

    public FrontOptions withWaitForInitWait(boolean v) {
        return new FrontOptions(abi, writeProtocolKey, ringOrder, queues, indirect, maxIndirectSegments,
                persistentGrants, readOnlyWriteGrants, v, ignoreBackendLimits, followBackendClose, keyOverrides, timeout);
    }

    public FrontOptions withIgnoreBackendLimits(boolean v) {
        return new FrontOptions(abi, writeProtocolKey, ringOrder, queues, indirect, maxIndirectSegments,
                persistentGrants, readOnlyWriteGrants, waitForInitWait, v, followBackendClose, keyOverrides, timeout);
    }

    public FrontOptions withFollowBackendClose(boolean v) {
        return new FrontOptions(abi, writeProtocolKey, ringOrder, queues, indirect, maxIndirectSegments,
                persistentGrants, readOnlyWriteGrants, waitForInitWait, ignoreBackendLimits, v, keyOverrides, timeout);
    }

    /** Adds a key written (or removed, when {@code value} is null) last in the handshake transaction. */
    public FrontOptions withKeyOverride(String key, String value) {
        Map<String, String> m = new LinkedHashMap<>(keyOverrides);
        m.put(key, value);
        return new FrontOptions(abi, writeProtocolKey, ringOrder, queues, indirect, maxIndirectSegments,
                persistentGrants, readOnlyWriteGrants, waitForInitWait, ignoreBackendLimits, followBackendClose, m,
                timeout);
    }

    public FrontOptions withTimeout(Duration v) {
        return new FrontOptions(abi, writeProtocolKey, ringOrder, queues, indirect, maxIndirectSegments,
                persistentGrants, readOnlyWriteGrants, waitForInitWait, ignoreBackendLimits, followBackendClose,
                keyOverrides, v);
    }
}
