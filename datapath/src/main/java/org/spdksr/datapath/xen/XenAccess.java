package org.spdksr.datapath.xen;

import java.io.IOException;
import org.spdksr.datapath.xen.evtchn.EventChannels;
import org.spdksr.datapath.xen.grant.GrantAccess;
import org.spdksr.datapath.xen.xenstore.Xenstore;

/** The three Xen services a backend uses, from one implementation family (ARCHITECTURE.md §2). */
public record XenAccess(Xenstore xenstore, GrantAccess grants, EventChannels events) implements AutoCloseable {

    @Override
    public void close() throws IOException {
        IOException first = null;
        for (AutoCloseable c : new AutoCloseable[] {events, grants, xenstore}) {
            try {
                c.close();
            } catch (Exception e) {
                if (first == null) {
                    first = e instanceof IOException io ? io : new IOException(e);
                }
            }
        }
        if (first != null) {
            throw first;
        }
    }
}
