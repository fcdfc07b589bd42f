package org.spdksr.datapath.vhost;

import java.io.IOException;

/**
 * Whoever makes the back end's socket exist, seen from the device. spdk_tgt serves a controller's
 * socket only while the controller exists, and a restarted spdk_tgt has only the controllers of
 * its saved configuration (spdk-rpc.md §4), so reconnecting may first need the controller made
 * again; closing the device ends the controller's purpose.
 */
public interface VhostBackendControl {
    /** Nothing to do: the socket is someone else's (a qemu-storage-daemon started by hand, a test). */
    VhostBackendControl NONE = new VhostBackendControl() {
        @Override
        public void restore() {
        }

        @Override
        public void release() {
        }
    };

    /**
     * Called from the reconnect loop after a connection attempt failed (at most once per second):
     * make the back end serve the socket again if it can be made to. A failure is logged and the
     * loop goes on trying until the device's reconnect timeout.
     */
    void restore() throws IOException;

    /** Called once, after the device disconnected in {@link VhostBlockDevice#close()}. */
    void release();
}
