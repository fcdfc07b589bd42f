package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.spdksr.datapath.xen.grant.CopyEndpoint;
import org.spdksr.datapath.xen.grant.CopySegment;
import org.spdksr.datapath.xen.grant.GrantAccess;
import org.spdksr.datapath.xen.grant.GrantMapping;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.grant.GrantStatus;

/**
 * Test-only observation hook: the real simulated grant access, with a count of live mappings and
 * of grant operations. SimGrantAccess offers no way to see its live mappings (its Mapping class is
 * private and keeps no registry), so the count lives here, around the real object the backend
 * uses. After {@link #fence()} every map or copy that touches a guest grant is recorded as a
 * violation (the "touch no grant after Closed" rule of blkif.md §5.7).
 */
final class CountingGrantAccess implements GrantAccess {
    private final GrantAccess delegate;
    private final AtomicInteger live = new AtomicInteger();
    private final AtomicLong maps = new AtomicLong();
    private final AtomicLong copies = new AtomicLong();
    private final List<String> afterFence = new CopyOnWriteArrayList<>();
    private volatile boolean fenced;

    CountingGrantAccess(GrantAccess delegate) {
        this.delegate = delegate;
    }

    /** Mappings made and not yet unmapped. */
    int live() {
        return live.get();
    }

    long maps() {
        return maps.get();
    }

    long copies() {
        return copies.get();
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
        GrantMapping m = delegate.map(refs, writable);
        maps.incrementAndGet();
        live.incrementAndGet();
        return new Counted(m);
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
        copies.addAndGet(segments.size());
        return delegate.copy(segments);
    }

    @Override
    public void close() throws IOException {
        delegate.close();
    }

    private final class Counted implements GrantMapping {
        private final GrantMapping m;
        private final AtomicBoolean closed = new AtomicBoolean();

        Counted(GrantMapping m) {
            this.m = m;
        }

        @Override
        public ByteBuffer buffer() {
            return m.buffer();
        }

        @Override
        public List<GrantRef> refs() {
            return m.refs();
        }

        @Override
        public boolean writable() {
            return m.writable();
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                live.decrementAndGet();
            }
            m.close();
        }
    }
}
