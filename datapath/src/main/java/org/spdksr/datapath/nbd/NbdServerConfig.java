package org.spdksr.datapath.nbd;

/**
 * Limits of an {@link NbdServer}.
 *
 * @param maxRequestBytes largest READ or WRITE payload accepted (advertised as the maximum block
 *        size); proto.md recommends that clients stay within 32 MiB when no maximum is advertised
 * @param maxInFlightPerConnection commands one connection may have in flight; further requests wait
 *        in the socket, which pushes back on the client
 * @param maxBufferedBytesPerConnection payload bytes one connection may hold in memory at once
 * @param maxConnections concurrent client connections; more are closed at once
 */
public record NbdServerConfig(int maxRequestBytes, int maxInFlightPerConnection, long maxBufferedBytesPerConnection,
        int maxConnections) {
    public static final int DEFAULT_MAX_REQUEST = 32 << 20;

    public NbdServerConfig {
        if (maxRequestBytes < 4096 || Integer.bitCount(maxRequestBytes) != 1) {
            throw new IllegalArgumentException("maximum request " + maxRequestBytes + " is not a power of two of at least 4096");
        }
        if (maxInFlightPerConnection < 1) {
            throw new IllegalArgumentException("in-flight limit " + maxInFlightPerConnection + " must be at least 1");
        }
        if (maxBufferedBytesPerConnection < maxRequestBytes) {
            throw new IllegalArgumentException("buffer budget " + maxBufferedBytesPerConnection
                    + " is smaller than one maximum request (" + maxRequestBytes + ")");
        }
        if (maxConnections < 1) {
            throw new IllegalArgumentException("connection limit " + maxConnections + " must be at least 1");
        }
    }

    /** 32 MiB requests, 128 commands and 128 MiB of payload per connection, 64 connections. */
    public static NbdServerConfig defaults() {
        return new NbdServerConfig(DEFAULT_MAX_REQUEST, 128, 128L << 20, 64);
    }
}
