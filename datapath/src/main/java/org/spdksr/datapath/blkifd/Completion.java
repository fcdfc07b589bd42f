package org.spdksr.datapath.blkifd;

/**
 * A finished request, waiting for its queue worker to write the response into the ring; {@code entry}
 * is its {@link RingJournal} entry.
 */
record Completion(long id, int operation, short status, int entry) {}
