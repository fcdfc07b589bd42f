package org.spdksr.datapath.nbd;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.spdksr.datapath.device.BlockDeviceException;

final class DeviceFutures {
    private DeviceFutures() {
    }

    static void await(CompletableFuture<Void> f) throws Exception {
        f.get(60, TimeUnit.SECONDS);
    }

    static BlockDeviceException.Reason failure(CompletableFuture<Void> f) throws Exception {
        try {
            f.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return ((BlockDeviceException) e.getCause()).reason();
        }
        throw new AssertionError("operation succeeded but should have failed");
    }
}
