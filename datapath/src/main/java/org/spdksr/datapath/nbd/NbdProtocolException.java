package org.spdksr.datapath.nbd;

import java.io.IOException;

/** The client broke the protocol in a way that leaves the stream out of step: the session is dropped. */
public final class NbdProtocolException extends IOException {
    private static final long serialVersionUID = 1L;

    public NbdProtocolException(String message) {
        super(message);
    }
}
