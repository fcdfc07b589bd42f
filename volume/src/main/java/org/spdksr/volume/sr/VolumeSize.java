package org.spdksr.volume.sr;

import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;

/**
 * The range a requested volume size must lie in before a back end rounds it (up to its sector or
 * cluster, so a size that is not a multiple of 512 is fine). The IDL's int64 (smapiv3.md §4.5)
 * reaches 2^63−1, where rounding up overflows; {@link #MAX} is far beyond any device
 * and leaves room to round to any cluster size, so such a size is a bad argument, not an
 * internal error (issue 19).
 */
final class VolumeSize {
    /** 4 EiB. */
    static final long MAX = 1L << 62;

    private VolumeSize() {}

    /** Returns {@code size} if it is in range; otherwise Invalid_arguments naming the argument. */
    static long checked(String method, String argument, String volume, long size) {
        if (size < 0 || size > MAX) {
            throw new SmapiException(StorageError.invalidArguments(method), method + ": " + argument + " of "
                    + volume + " is " + size + " bytes, outside 0.." + MAX + " (4 EiB). Give the size in bytes "
                    + "within that range; it is rounded up to the SR's block size.");
        }
        return size;
    }
}
