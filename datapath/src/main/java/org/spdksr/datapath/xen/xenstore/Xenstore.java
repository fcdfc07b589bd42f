package org.spdksr.datapath.xen.xenstore;

import java.io.IOException;

/**
 * A xenstore connection: node operations, watches and transactions (blkif.md §4).
 * Thread-safe: requests from several threads are matched to replies by request id.
 */
public interface Xenstore extends XenstoreOps, AutoCloseable {

    /**
     * Registers a watch on {@code path} and everything below it. The watch fires once right after
     * registration, then on every change; spurious events are possible (blkif.md §4.2).
     * Closing the returned handle unregisters it.
     */
    XenstoreWatch watch(String path) throws IOException;

    /**
     * Runs {@code body} in a transaction and commits it, rerunning the whole body when the commit
     * answers EAGAIN (blkif.md §4.2). The body must not have side effects outside the transaction.
     */
    <T> T transaction(TransactionBody<T> body) throws IOException;

    /** {@code /local/domain/<domid>} as the server reports it. */
    String getDomainPath(int domid) throws IOException;

    @Override
    void close() throws IOException;

    /** Work done inside a transaction. */
    @FunctionalInterface
    interface TransactionBody<T> {
        T run(XenstoreOps tx) throws IOException;
    }
}
