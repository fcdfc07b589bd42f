package org.spdksr.plugin.spdk;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Where spdk_tgt listens and how long to wait for it.
 *
 * @param socket its JSON-RPC unix socket ({@code -r}; spdk-rpc.md §1)
 * @param connectTimeout how long to keep retrying the connection while spdk_tgt starts (it
 *     re-creates the socket at start-up, so a missing socket may only mean "not yet")
 * @param retryInterval pause between connection attempts (rpc.py uses 0.2 s)
 * @param callTimeout how long one call may take before it is given up
 */
public record SpdkClientSettings(Path socket, Duration connectTimeout, Duration retryInterval, Duration callTimeout) {
    public static final Path DEFAULT_SOCKET = Path.of("/var/tmp/spdk.sock");

    public SpdkClientSettings {
        if (!socket.isAbsolute()) {
            throw new IllegalArgumentException("the SPDK socket must be an absolute path, got " + socket);
        }
        if (connectTimeout.isNegative() || retryInterval.isNegative() || callTimeout.isNegative()
                || callTimeout.isZero()) {
            throw new IllegalArgumentException("negative or zero SPDK timeouts");
        }
    }

    /** Production values: 10 s to come up, 0.2 s between tries, 60 s per call like rpc.py's default. */
    public static SpdkClientSettings defaults(Path socket) {
        return new SpdkClientSettings(socket, Duration.ofSeconds(10), Duration.ofMillis(200), Duration.ofSeconds(60));
    }
}
