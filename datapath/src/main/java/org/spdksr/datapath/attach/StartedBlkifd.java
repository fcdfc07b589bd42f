package org.spdksr.datapath.attach;

import java.io.IOException;
import java.util.Optional;

/**
 * A blkifd that was just asked to start, however it was started. Whether it runs is still decided
 * by its control socket answering ({@link BlkifdProcesses#running}); this only tells a start that
 * failed early from one that is slow.
 */
interface StartedBlkifd {
    /** Empty while the process lives (starting or serving); otherwise why it is gone. */
    Optional<String> ended() throws IOException;

    /** Where a person finds its output: the log file or the journal command. */
    String whereToLook();

    /** Gives up a start that did not open its control socket in time. */
    void abandon();
}
