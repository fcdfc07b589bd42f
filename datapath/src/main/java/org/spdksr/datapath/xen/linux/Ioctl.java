package org.spdksr.datapath.xen.linux;

/** Linux {@code _IOC} encoding with direction bits 0, as the Xen device headers use (blkif.md §2, §3). */
final class Ioctl {
    private Ioctl() {
    }

    /** {@code _IOC(_IOC_NONE, type, nr, size)} = (size << 16) | (type << 8) | nr on x86. */
    static int none(char type, int nr, int size) {
        return (size << 16) | (type << 8) | nr;
    }
}
