package org.spdksr.datapath.xen.grant;

import java.io.IOException;
import java.util.List;

/** Access to pages other domains granted to this one (blkif.md §2). */
public interface GrantAccess extends AutoCloseable {

    /**
     * Maps a batch of grants contiguously with one request (blkif.md §2.2 step 4). Read-only maps
     * work with read-only grants; a writable map of a read-only grant is refused.
     *
     * @throws GrantException with the GNTST code when any grant of the batch is refused; nothing stays mapped
     */
    GrantMapping map(List<GrantRef> refs, boolean writable) throws IOException;

    /**
     * Grant copy: performs every segment and returns one status per segment, in order. The call
     * itself fails only when the request cannot be issued; a refused segment shows in its status.
     */
    List<GrantStatus> copy(List<CopySegment> segments) throws IOException;

    @Override
    void close() throws IOException;
}
