package org.spdksr.datapath.vhost;

import java.time.Duration;

/**
 * How {@link VhostBlockDevice} sets up its connection to a vhost-user-blk back end.
 *
 * @param backing what memory backs the region shared with the back end (rings and data)
 * @param regionBytes size of that region: the rings plus the buffers of every request in flight;
 *        rounded up to 2 MiB (the hugepage size, which SPDK also needs for alignment)
 * @param ringSize entries per virtqueue, a power of two (virtio 1.2 §2.7: Queue Size)
 * @param maxQueues how many virtqueues to use at most; fewer if the back end offers fewer
 *        (GET_QUEUE_NUM, or the virtio-blk config's num_queues)
 * @param reconnectTimeout how long requests wait for a restarted back end before they fail
 * @param reconnectInterval the pause between two connection attempts while the back end is away
 * @param readOnly refuse writes and discards even if the back end accepts them
 */
public record VhostDeviceOptions(Backing backing, long regionBytes, int ringSize, int maxQueues,
        Duration reconnectTimeout, Duration reconnectInterval, boolean readOnly) {

    /** Memory behind the shared region. */
    public enum Backing {
        /**
         * {@code memfd_create(MFD_HUGETLB | MFD_HUGE_2MB)}: what SPDK needs on most hosts (it
         * translates guest addresses through hugepage-backed, 2 MiB aligned memory). Needs
         * reserved hugepages ({@code /proc/sys/vm/nr_hugepages}) and Linux 4.14.
         */
        HUGETLB,
        /** A plain {@code memfd_create}: enough for qemu-storage-daemon and SPDK started with {@code --no-huge}. */
        PLAIN
    }

    public static final long HUGE_PAGE = 2L << 20;
    /** The region is addressed through one {@link java.nio.ByteBuffer}, so it stays below 2 GiB. */
    public static final long MAX_REGION_BYTES = 1L << 30;
    public static final int MAX_RING_SIZE = 32768;

    public VhostDeviceOptions {
        if (backing == null) {
            throw new IllegalArgumentException("backing must be HUGETLB or PLAIN");
        }
        if (ringSize < 2 || ringSize > MAX_RING_SIZE || Integer.bitCount(ringSize) != 1) {
            throw new IllegalArgumentException("ring size " + ringSize + " is not a power of two between 2 and " + MAX_RING_SIZE);
        }
        if (maxQueues < 1 || maxQueues > 256) {
            throw new IllegalArgumentException("maxQueues " + maxQueues + " outside 1..256");
        }
        if (regionBytes < HUGE_PAGE || regionBytes > MAX_REGION_BYTES) {
            throw new IllegalArgumentException("region size " + regionBytes + " outside " + HUGE_PAGE + ".." + MAX_REGION_BYTES + " bytes");
        }
        regionBytes = (regionBytes + HUGE_PAGE - 1) & -HUGE_PAGE;
        if (reconnectTimeout == null || reconnectTimeout.isNegative() || reconnectInterval == null
                || reconnectInterval.isNegative() || reconnectInterval.isZero()) {
            throw new IllegalArgumentException("reconnect timeout must be >= 0 and the interval > 0");
        }
    }

    /** Hugepages, 64 MiB, 128 entries, up to 4 queues, 30 s reconnect window, 100 ms retries, read-write. */
    public static VhostDeviceOptions defaults() {
        return new VhostDeviceOptions(Backing.HUGETLB, 64L << 20, 128, 4, Duration.ofSeconds(30),
                Duration.ofMillis(100), false);
    }

    public VhostDeviceOptions withBacking(Backing backing) {
        return new VhostDeviceOptions(backing, regionBytes, ringSize, maxQueues, reconnectTimeout, reconnectInterval, readOnly);
    }

    public VhostDeviceOptions withRegionBytes(long regionBytes) {
        return new VhostDeviceOptions(backing, regionBytes, ringSize, maxQueues, reconnectTimeout, reconnectInterval, readOnly);
    }

    public VhostDeviceOptions withRingSize(int ringSize) {
        return new VhostDeviceOptions(backing, regionBytes, ringSize, maxQueues, reconnectTimeout, reconnectInterval, readOnly);
    }

    public VhostDeviceOptions withMaxQueues(int maxQueues) {
        return new VhostDeviceOptions(backing, regionBytes, ringSize, maxQueues, reconnectTimeout, reconnectInterval, readOnly);
    }

    public VhostDeviceOptions withReconnect(Duration timeout, Duration interval) {
        return new VhostDeviceOptions(backing, regionBytes, ringSize, maxQueues, timeout, interval, readOnly);
    }

    public VhostDeviceOptions withReadOnly(boolean readOnly) {
        return new VhostDeviceOptions(backing, regionBytes, ringSize, maxQueues, reconnectTimeout, reconnectInterval, readOnly);
    }
}
