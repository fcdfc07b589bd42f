package org.spdksr.volume.store;

import java.io.IOException;

/**
 * The SR's storage cannot be reached right now (the spdk_tgt serving it is not running), though
 * nothing says the SR is damaged. SR.stat reports it as health Unreachable, which xapi retries
 * (smapiv3.md §3.4), instead of failing.
 */
public final class SiteUnreachableException extends IOException {
    private static final long serialVersionUID = 1L;

    public SiteUnreachableException(String message, Throwable cause) {
        super(message, cause);
    }
}
