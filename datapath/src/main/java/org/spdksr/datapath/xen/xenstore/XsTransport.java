package org.spdksr.datapath.xen.xenstore;

import java.io.Closeable;
import java.io.IOException;

/** A byte stream carrying framed xenstore messages (blkif.md §4, "Transports"). */
public interface XsTransport extends Closeable {

    /** The next message, or null at end of stream. Called by one reader thread only. */
    XsMessage read() throws IOException;

    /** Sends one whole message; implementations serialise concurrent writers. */
    void write(XsMessage m) throws IOException;

    /** Largest payload this transport carries. */
    int payloadMax();

    /**
     * True when WATCH/UNWATCH replies may carry a request id the client did not send, as the
     * kernel's fake reply on /dev/xen/xenbus does (blkif.md §4.2).
     */
    boolean fakesWatchReplies();

    /**
     * True when only one request may be outstanding. On /dev/xen/xenbus a WATCH written while
     * another reply is pending was seen to deadlock dom0's xenbus on real Xen 4.17 (the kernel's
     * xenbus thread blocked delivering replies; the real-Xen stage, tests/xen/README.md).
     */
    default boolean oneRequestAtATime() {
        return false;
    }

    String describe();
}
