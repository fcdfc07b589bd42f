package org.spdksr.volume.spdk;

import java.io.IOException;
import java.nio.file.Path;
import org.spdksr.plugin.spdk.SpdkClient;
import org.spdksr.plugin.spdk.SpdkClientSettings;
import org.spdksr.plugin.spdk.SpdkRpcException;

/**
 * Runs a few SPDK calls on one short connection and turns a failure into an error for the
 * administrator. A connection per operation: nothing is held between SMAPIv3 calls, which may
 * come from different processes.
 */
final class SpdkCalls {
    private final SpdkClientSettings settings;

    SpdkCalls(SpdkClientSettings settings) {
        this.settings = settings;
    }

    @FunctionalInterface
    interface Work<T> {
        T run(SpdkClient client) throws SpdkRpcException, IOException;
    }

    Path socket() {
        return settings.socket();
    }

    /**
     * @param doing what is being done, for the message ("create volume … in …")
     * @param object the SR handle, volume key or device concerned
     */
    <T> T run(String doing, String object, Work<T> work) throws IOException {
        try (SpdkClient client = new SpdkClient(settings)) {
            return work.run(client);
        } catch (SpdkRpcException e) {
            throw SpdkFailures.of(e, doing, object);
        }
    }
}
