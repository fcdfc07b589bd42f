package org.spdksr.datapath.device;

import java.io.IOException;

/**
 * Why a {@link BlockDevice} operation failed, in a form each front end can map to its own error
 * codes (blkif: {@code BLKIF_RSP_ERROR} or {@code EOPNOTSUPP}; NBD: {@code EINVAL}, {@code EIO},
 * {@code ENOSPC}, ...) without parsing messages. Devices complete their futures exceptionally
 * with this type.
 */
public final class BlockDeviceException extends IOException {
    private static final long serialVersionUID = 1L;

    /** The classes of failure a front end treats differently. */
    public enum Reason {
        /** The range lies (partly) outside the device; nothing was done. */
        OUT_OF_RANGE,
        /** Offset, length or buffer do not meet the device's alignment (O_DIRECT). */
        MISALIGNED,
        /** The operation is not supported by this device (e.g. discard on a file system without hole punching). */
        UNSUPPORTED,
        /** The device is out of space (ENOSPC, EDQUOT, EFBIG). */
        NO_SPACE,
        /** A write or discard on a device opened read-only. */
        READ_ONLY,
        /** The device was closed before the operation started. */
        CLOSED,
        /** Any other failure of the underlying I/O. */
        IO_ERROR
    }

    private final Reason reason;

    public BlockDeviceException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public BlockDeviceException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }
}
