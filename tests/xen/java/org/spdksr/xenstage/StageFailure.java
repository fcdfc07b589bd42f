package org.spdksr.xenstage;

/** A check of the stage failed; the message says which and what was seen. */
final class StageFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StageFailure(String message) {
        super(message);
    }
}
