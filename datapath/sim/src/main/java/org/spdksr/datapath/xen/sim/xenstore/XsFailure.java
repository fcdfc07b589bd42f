package org.spdksr.datapath.xen.sim.xenstore;

/** A request the simulated server refuses; becomes an ERROR reply carrying {@code errorName} (blkif.md §4.2). */
final class XsFailure extends Exception {
    private static final long serialVersionUID = 1L;

    private final String errorName;

    XsFailure(String errorName, String detail) {
        super(errorName + ": " + detail, null, false, false);
        this.errorName = errorName;
    }

    String errorName() {
        return errorName;
    }
}
