package org.spdksr.datapath.nbd;

import java.nio.charset.StandardCharsets;
import java.util.Objects;
import org.spdksr.datapath.device.BlockDevice;

/**
 * One device served under a name.
 *
 * @param name the export name clients ask for (UTF-8, no NUL, at most 4096 bytes: proto.md "Conventions")
 * @param description shown by clients that ask for NBD_INFO_DESCRIPTION; may be empty
 * @param device where the bytes live; shared with other users (the blkif ring) unless owned
 * @param readOnly refuse WRITE and TRIM with EPERM and advertise NBD_FLAG_READ_ONLY
 * @param ownership who closes {@code device}: the server when the export is removed or the server
 *        closes, or the caller (blkifd, which shares the device with the guest ring)
 */
public record NbdExport(String name, String description, BlockDevice device, boolean readOnly, Ownership ownership) {
    /** Who closes the device of an export. */
    public enum Ownership {
        /** The server closes the device when the export goes away. */
        SERVER,
        /** The caller keeps the device and closes it after removing the export or closing the server. */
        CALLER
    }

    public NbdExport {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(description, "description");
        Objects.requireNonNull(device, "device");
        Objects.requireNonNull(ownership, "ownership");
        if (name.indexOf('\0') >= 0 || name.getBytes(StandardCharsets.UTF_8).length > NbdProtocol.MAX_STRING_BYTES) {
            throw new IllegalArgumentException("export name '" + name + "' contains NUL or exceeds "
                    + NbdProtocol.MAX_STRING_BYTES + " bytes; NBD clients cannot ask for it");
        }
    }

    /** A read-write export of a device the caller keeps. */
    public static NbdExport shared(String name, BlockDevice device) {
        return new NbdExport(name, "", device, false, Ownership.CALLER);
    }
}
