package org.spdksr.datapath.blkif;

/**
 * The frontend broke the ring protocol (a producer index further ahead than the ring holds,
 * blkif.md §1.8). The ring cannot be trusted any more: the device is shut down.
 */
public class RingBrokenException extends Exception {
    private static final long serialVersionUID = 1L;

    public RingBrokenException(String message) {
        super(message);
    }
}
