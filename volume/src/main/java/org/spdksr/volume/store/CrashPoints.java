package org.spdksr.volume.store;

/**
 * The boundaries between the durable steps of a mutating call (a file renamed into place, an
 * lvol made, a metadata row committed). A process can die at any of them; naming them lets a
 * fault test stop the process at each in turn and check what the SR holds afterwards (issue 19).
 * In production nothing listens.
 */
@FunctionalInterface
public interface CrashPoints {
    CrashPoints NONE = point -> {};

    /** The step before this point is done (and durable where the back end makes it so). */
    void reached(String point);
}
