package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.xen.grant.GrantAccess;
import org.spdksr.datapath.xen.grant.GrantMapping;
import org.spdksr.datapath.xen.grant.GrantRef;

/**
 * Grants a frontend keeps granted for the life of the connection (feature-persistent), mapped
 * once and then read and written with plain copies, which saves a grant operation per segment
 * (blkif.md §2.3). Bounded, like blkback's 1056 per ring: past the bound, segments go through
 * grant copy. A grant that cannot be mapped writable (Windows grants write data read-only) is
 * also left to grant copy. Thread-safe: reads complete on device threads. The pages are used only
 * inside the queue's {@link GuestMemoryGate}, which is what makes {@link #close} safe.
 */
final class PersistentGrants implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PersistentGrants.class);

    private final GrantAccess grants;
    private final int frontendDomid;
    private final int capacity;
    private final Map<Integer, GrantMapping> mapped = new HashMap<>();
    private boolean closed;

    PersistentGrants(GrantAccess grants, int frontendDomid, int capacity) {
        this.grants = grants;
        this.frontendDomid = frontendDomid;
        this.capacity = capacity;
    }

    /** The page behind {@code gref}, mapped writable, or empty if it is not (and will not be) cached. */
    synchronized Optional<ByteBuffer> page(int gref) {
        if (closed) {
            return Optional.empty();
        }
        GrantMapping mapping = mapped.get(gref);
        if (mapping == null) {
            if (mapped.size() >= capacity) {
                return Optional.empty();
            }
            try {
                mapping = grants.map(List.of(new GrantRef(frontendDomid, gref)), true);
            } catch (IOException | RuntimeException e) {
                return Optional.empty(); // grant copy will report what is wrong with it
            }
            mapped.put(gref, mapping);
        }
        return Optional.of(mapping.buffer());
    }

    synchronized int size() {
        return mapped.size();
    }

    /**
     * Unmaps everything. Called once the queue's {@link GuestMemoryGate} is closed: every use of a
     * page returned by {@link #page} happens inside that gate, so none is in progress or can start.
     */
    @Override
    public synchronized void close() {
        closed = true;
        for (GrantMapping mapping : mapped.values()) {
            try {
                mapping.close();
            } catch (RuntimeException e) {
                LOG.warn("unmapping a persistent grant of domain {}: {}", frontendDomid, e.toString());
            }
        }
        mapped.clear();
    }
}
