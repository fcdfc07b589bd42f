package org.spdksr.datapath.blkifd;

/** The handshake states, written as decimal text in {@code state} nodes (blkif.md §5.1). */
public enum XenbusState {
    UNKNOWN, INITIALISING, INIT_WAIT, INITIALISED, CONNECTED, CLOSING, CLOSED, RECONFIGURING, RECONFIGURED;

    public String wire() {
        return Integer.toString(ordinal());
    }

    /** A value a frontend wrote; anything unparsable is Unknown, which the backend treats as gone. */
    public static XenbusState parse(String text) {
        if (text == null) {
            return UNKNOWN;
        }
        try {
            int value = Integer.parseInt(text.trim());
            return value >= 0 && value < values().length ? values()[value] : UNKNOWN;
        } catch (NumberFormatException e) {
            return UNKNOWN;
        }
    }
}
