package org.spdksr.datapath.device;

/**
 * The bounds rule every device applies before touching storage: {@code [offset, offset+length)}
 * must lie inside {@code [0, size)}, computed without overflow (a hostile length near 2^63 must
 * not wrap around and pass).
 */
public final class DeviceRange {
    private DeviceRange() {
    }

    /** True when the range is inside a device of {@code size} bytes. Zero-length ranges at {@code size} are inside. */
    public static boolean inside(long offset, long length, long size) {
        return offset >= 0 && length >= 0 && offset <= size && length <= size - offset;
    }

    /** Throws {@link BlockDeviceException} ({@code OUT_OF_RANGE}) unless the range is inside. */
    public static void check(String device, long offset, long length, long size) throws BlockDeviceException {
        if (!inside(offset, length, size)) {
            throw new BlockDeviceException(BlockDeviceException.Reason.OUT_OF_RANGE,
                    device + ": refused I/O at offset " + offset + " length " + length
                            + " outside the device size " + size + " bytes; nothing was read or written");
        }
    }
}
