package org.spdksr.datapath.xen.grant;

import java.nio.ByteBuffer;

/** One side of a grant-copy segment: a local buffer or a foreign granted page (blkif.md §2.1). */
public sealed interface CopyEndpoint {

    /** Bytes of {@code buffer} starting at {@code offset}; must be a direct buffer for the Linux driver. */
    record Local(ByteBuffer buffer, int offset) implements CopyEndpoint {
        public Local {
            if (offset < 0 || offset > buffer.capacity()) {
                throw new IllegalArgumentException("offset " + offset + " outside a buffer of " + buffer.capacity());
            }
        }
    }

    /** Bytes of the granted page starting at {@code offset}. */
    record Foreign(GrantRef ref, int offset) implements CopyEndpoint {
        public Foreign {
            if (offset < 0 || offset >= GrantMapping.PAGE_SIZE) {
                throw new IllegalArgumentException("offset " + offset + " into " + ref + " is outside the page");
            }
        }
    }
}
