package org.spdksr.datapath.xen.grant;

import java.nio.ByteBuffer;
import java.util.List;

/**
 * A batch of granted pages mapped contiguously, page i at byte offset i*4096 (blkif.md §2.2).
 * The buffer must not be used after {@link #close()}: the memory is unmapped.
 */
public interface GrantMapping extends AutoCloseable {
    int PAGE_SIZE = 4096;

    /** The whole mapping; read-only when the map was read-only. */
    ByteBuffer buffer();

    List<GrantRef> refs();

    boolean writable();

    default int pageCount() {
        return refs().size();
    }

    /** Unmaps the whole range (gntdev unmaps a mapping only as a whole, blkif.md §2.2). */
    @Override
    void close();
}
