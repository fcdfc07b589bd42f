package org.spdksr.datapath.device;

/**
 * How {@link FileBlockDevice} opens its file.
 *
 * @param direct open with O_DIRECT: bypasses the dom0 page cache (no double caching of guest data,
 *        writes reach the device when they complete), at the price of block-aligned offsets and
 *        lengths; refused by file systems without direct I/O (e.g. tmpfs before Linux 6.6)
 * @param queueDepth how many requests run at once on the device's I/O threads; more wait in a queue
 * @param logicalBlockSize the block size advertised for a regular file (512 by default, like a
 *        disk); block devices report their own ({@code BLKSSZGET}); with O_DIRECT it is raised to
 *        the alignment the file system demands
 * @param readOnly open read-only: writes and discards fail with {@link BlockDeviceException.Reason#READ_ONLY}
 */
public record FileDeviceOptions(boolean direct, int queueDepth, int logicalBlockSize, boolean readOnly) {
    /** Upper bound on I/O threads per device: one thread per in-flight request. */
    public static final int MAX_QUEUE_DEPTH = 1024;

    public FileDeviceOptions {
        if (queueDepth < 1 || queueDepth > MAX_QUEUE_DEPTH) {
            throw new IllegalArgumentException("queue depth " + queueDepth + " outside 1.." + MAX_QUEUE_DEPTH);
        }
        if (logicalBlockSize < 512 || logicalBlockSize > 65536 || Integer.bitCount(logicalBlockSize) != 1) {
            throw new IllegalArgumentException("logical block size " + logicalBlockSize
                    + " is not a power of two between 512 and 65536");
        }
    }

    /** Buffered I/O, queue depth 32, 512-byte blocks, read-write. */
    public static FileDeviceOptions defaults() {
        return new FileDeviceOptions(false, 32, 512, false);
    }

    public FileDeviceOptions withDirect(boolean direct) {
        return new FileDeviceOptions(direct, queueDepth, logicalBlockSize, readOnly);
    }

    public FileDeviceOptions withQueueDepth(int queueDepth) {
        return new FileDeviceOptions(direct, queueDepth, logicalBlockSize, readOnly);
    }

    public FileDeviceOptions withReadOnly(boolean readOnly) {
        return new FileDeviceOptions(direct, queueDepth, logicalBlockSize, readOnly);
    }
}
