package org.spdksr.datapath.blkifd;

import java.util.List;
import org.spdksr.datapath.blkif.Abi;

/** What the frontend asked for at connect time, after checking (blkif.md §5.5). */
record FrontendConnection(Abi abi, int ringPageOrder, boolean persistent, List<QueueKeys> queues) {

    FrontendConnection {
        queues = List.copyOf(queues);
    }

    /** One queue's ring pages (in order) and the frontend's event-channel port. */
    record QueueKeys(List<Integer> ringRefs, int eventChannel) {
        QueueKeys {
            ringRefs = List.copyOf(ringRefs);
        }
    }
}
