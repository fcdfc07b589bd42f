package org.spdksr.datapath.blkifd;

import java.util.Map;

/**
 * blkifd's request buffer memory budget from its environment (the launcher passes the keys of
 * /etc/spdk-sr/spdk-sr.conf through it): {@code SPDK_SR_BLKIFD_BUFFER_MIB}, the direct memory one
 * blkifd (one domain, all its disks and queues) may hold for the data of guest requests in
 * flight. When it is spent a ring waits, with its requests left on it, until buffers come back.
 *
 * <p>The true worst case, every slot of every ring holding a largest request, is 512 slots x
 * 1 MiB = 512 MiB per queue at ring order 4 with 256 indirect segments (blkif.md §1.2, §1.6): no
 * host can give that to every VM. The default, 64 MiB, is that worst case for a stock Linux
 * guest (order-0 rings of 32 slots, 32 indirect segments = 128 KiB per request: 4 MiB per queue)
 * with 4 queues on each of 4 disks; a guest that asks for more waits for memory instead.
 */
public final class BufferSettings {
    public static final String BUFFER_MIB = "SPDK_SR_BLKIFD_BUFFER_MIB";
    public static final long DEFAULT_MIB = 64;
    /** The JVM's 2 GiB limit on one buffer is far off; this only keeps a typo from meaning "unbounded". */
    public static final long MAX_MIB = 65536;

    private BufferSettings() {
    }

    /** The budget in bytes. */
    public static long budgetBytes(Map<String, String> env) {
        String text = env.getOrDefault(BUFFER_MIB, "").trim();
        if (text.isEmpty()) {
            return DEFAULT_MIB << 20;
        }
        long mib;
        try {
            mib = Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(BUFFER_MIB + "=\"" + text + "\" is not a number of MiB; fix it in "
                    + "/etc/spdk-sr/spdk-sr.conf", e);
        }
        if (mib < 1 || mib > MAX_MIB) {
            throw new IllegalArgumentException(BUFFER_MIB + "=" + mib + " is outside 1.." + MAX_MIB
                    + "; fix it in /etc/spdk-sr/spdk-sr.conf");
        }
        return mib << 20;
    }
}
