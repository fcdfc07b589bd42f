package org.spdksr.datapath.sim.blkfront;

import java.io.IOException;

/**
 * The backend broke the ring protocol as seen from the frontend: more responses than requests,
 * an unknown id, an operation byte that is not the request's. The simulated guest reports it
 * instead of trusting the response.
 */
public final class BackendMisbehavedException extends IOException {
    private static final long serialVersionUID = 1L;

    public BackendMisbehavedException(String message) {
        super(message);
    }
}
