package org.spdksr.volume.sr;

import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;

/**
 * The range a requested volume size must lie in before a back end rounds it (up to its sector or
 * cluster, so a size that is not a multiple of 512 is fine). The IDL's int64 (smapiv3.md §4.5)
 * reaches 2^63−1, where rounding up overflowed into an Internal_error (issue 19); {@link #MAX} is
 * far beyond any device and leaves room to round to any cluster size.
 */
final class VolumeSize {
    /** 4 EiB. */
    static final long MAX = 1L << 62;

    private VolumeSize() {}

    /**
     * Returns {@code size} if it is in range. A negative size is a malformed call; one above
     * {@link #MAX} gets the VDI_too_large the back ends give for a size they cannot hold.
     *
     * @param object what VDI_too_large names: the volume's key, or the SR's handle for a new volume
     */
    static long checked(String method, String argument, String object, long size) {
        if (size < 0) {
            throw new SmapiException(StorageError.invalidArguments(method), method + ": " + argument
                    + " must not be negative, got " + size + ". Give the size in bytes.");
        }
        if (size > MAX) {
            throw new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE", "VDI_too_large", object),
                    method + ": " + argument + " " + size + " bytes (for " + object + ") is more than the " + MAX
                            + " bytes (4 EiB) spdk-sr allows for a volume. Choose a smaller size.");
        }
        return size;
    }
}
