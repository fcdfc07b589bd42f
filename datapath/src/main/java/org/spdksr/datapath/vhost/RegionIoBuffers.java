package org.spdksr.datapath.vhost;

import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;
import org.spdksr.datapath.device.IoBuffers;

/**
 * {@link VhostBlockDevice}'s shared region offered as {@link IoBuffers}: a caller that fills these
 * buffers hands the back end its data without the device's bounce copy. When the region is full,
 * {@link #take} waits in line with the device's own bounce allocations; every buffer out belongs
 * to a request in flight, so room always comes back.
 */
final class RegionIoBuffers implements IoBuffers {
    private final String device;
    private final RegionBuffers region;
    private final int maxBytes;

    RegionIoBuffers(String device, RegionBuffers region) {
        this.device = device;
        this.region = region;
        // A quarter of the region: the largest buffer must not wait for the region to empty
        // completely, which would stall every request queued behind it.
        long quarter = region.capacityBytes() / 4 / RegionAllocator.PAGE * RegionAllocator.PAGE;
        this.maxBytes = (int) Math.min(Integer.MAX_VALUE, Math.max(RegionAllocator.PAGE, quarter));
    }

    @Override
    public CompletableFuture<ByteBuffer> take(int bytes) {
        if (bytes <= 0 || bytes > maxBytes) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(device + ": a region buffer of " + bytes
                    + " bytes was asked for; the region hands out 1.." + maxBytes + " bytes at a time; use an ordinary"
                    + " direct buffer for larger I/O"));
        }
        return region.allocateWhenFree(bytes);
    }

    @Override
    public void give(ByteBuffer buffer) {
        if (!region.free(buffer)) {
            throw new IllegalArgumentException(device + ": a buffer that is not in its shared region was given back"
                    + " as a region buffer; give each buffer back to the IoBuffers it came from");
        }
    }

    @Override
    public int maxBytes() {
        return maxBytes;
    }
}
