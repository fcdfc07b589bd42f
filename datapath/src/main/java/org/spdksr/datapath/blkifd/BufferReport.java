package org.spdksr.datapath.blkifd;

/**
 * What {@code spdk-sr status} shows of one blkifd's request buffer memory (issue 18).
 *
 * @param limitBytes the budget ({@code SPDK_SR_BLKIFD_BUFFER_MIB}), shared by all disks and queues
 * @param inUseBytes lent to requests in flight
 * @param pooledBytes free, kept for reuse; counts against the budget too
 * @param peakBytes the most ever held (in use plus pooled)
 * @param waits how often a ring stopped taking requests until buffers came back
 */
public record BufferReport(long limitBytes, long inUseBytes, long pooledBytes, long peakBytes, long waits) {}
