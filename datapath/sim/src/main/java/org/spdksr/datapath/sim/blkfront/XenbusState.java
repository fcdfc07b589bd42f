package org.spdksr.datapath.sim.blkfront;

/** XenbusState values (blkif.md §5.1), written as decimal ASCII in {@code state} nodes. */
public enum XenbusState {
    UNKNOWN, INITIALISING, INIT_WAIT, INITIALISED, CONNECTED, CLOSING, CLOSED, RECONFIGURING, RECONFIGURED;

    public String wire() {
        return Integer.toString(ordinal());
    }

    /** The state a node holds; UNKNOWN for a missing node or a value outside 0..8. */
    public static XenbusState parse(java.util.Optional<String> value) {
        if (value.isEmpty()) {
            return UNKNOWN;
        }
        try {
            int v = Integer.parseInt(value.get().trim());
            return v >= 0 && v < values().length ? values()[v] : UNKNOWN;
        } catch (NumberFormatException e) {
            return UNKNOWN;
        }
    }
}
