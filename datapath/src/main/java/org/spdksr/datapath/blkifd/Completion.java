package org.spdksr.datapath.blkifd;

/** A finished request, waiting for its queue worker to write the response into the ring. */
record Completion(long id, int operation, short status) {}
