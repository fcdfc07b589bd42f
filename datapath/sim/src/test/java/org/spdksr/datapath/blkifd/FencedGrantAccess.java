package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.spdksr.datapath.xen.grant.CopyEndpoint;
import org.spdksr.datapath.xen.grant.CopySegment;
import org.spdksr.datapath.xen.grant.GrantAccess;
import org.spdksr.datapath.xen.grant.GrantMapping;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.grant.GrantStatus;

/**
 * Test-only observation hook around the real simulated grant access: after {@link #fence()} every
 * map or copy that touches a guest grant is recorded as a violation (the "touch no grant after
 * the frontend's Closed" rule of blkif.md §5.7). Live mappings are counted by the simulation
 * itself ({@code SimXenHost.liveMappings}), not here.
 */
final class FencedGrantAccess implements GrantAccess {
    private final GrantAccess delegate;
    private final List<String> afterFence = new CopyOnWriteArrayList<>();
    private volatile boolean fenced;

    FencedGrantAccess(GrantAccess delegate) {
        this.delegate = delegate;
    }

    /** From now on, any grant map or copy is a violation. */
    void fence() {
        fenced = true;
    }

    void unfence() {
        fenced = false;
    }

    List<String> touchedAfterFence() {
        return List.copyOf(afterFence);
    }

    @Override
    public GrantMapping map(List<GrantRef> refs, boolean writable) throws IOException {
        if (fenced) {
            afterFence.add("map " + refs + (writable ? " rw" : " ro") + " on " + Thread.currentThread().getName());
        }
        return delegate.map(refs, writable);
    }

    @Override
    public List<GrantStatus> copy(List<CopySegment> segments) throws IOException {
        if (fenced) {
            for (CopySegment s : segments) {
                if (s.source() instanceof CopyEndpoint.Foreign f) {
                    afterFence.add("copy from " + f.ref() + " on " + Thread.currentThread().getName());
                }
                if (s.dest() instanceof CopyEndpoint.Foreign f) {
                    afterFence.add("copy to " + f.ref() + " on " + Thread.currentThread().getName());
                }
            }
        }
        return delegate.copy(segments);
    }

    @Override
    public void close() throws IOException {
        delegate.close();
    }
}
