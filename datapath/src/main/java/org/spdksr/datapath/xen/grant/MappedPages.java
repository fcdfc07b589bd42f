package org.spdksr.datapath.xen.grant;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@link GrantMapping} whose memory some implementation mapped; {@code release} undoes that
 * mapping exactly once, however often and from whichever thread {@link #close()} is called.
 */
public final class MappedPages implements GrantMapping {
    private final List<GrantRef> refs;
    private final boolean writable;
    private final ByteBuffer buffer;
    private final Runnable release;
    private final AtomicBoolean unmapped = new AtomicBoolean();

    public MappedPages(List<GrantRef> refs, boolean writable, ByteBuffer buffer, Runnable release) {
        this.refs = List.copyOf(refs);
        this.writable = writable;
        this.buffer = buffer;
        this.release = release;
    }

    @Override
    public ByteBuffer buffer() {
        return buffer.duplicate();
    }

    @Override
    public List<GrantRef> refs() {
        return refs;
    }

    @Override
    public boolean writable() {
        return writable;
    }

    @Override
    public void close() {
        if (unmapped.compareAndSet(false, true)) {
            release.run();
        }
    }
}
