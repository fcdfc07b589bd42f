package org.spdksr.datapath.sim.xenopsd;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The xenstore device id of a disk name (blkif.md §5.2, Xen's xen-vbd-interface): xvd disks are
 * {@code (202<<8)|(disk<<4)|part} below 16 disks and {@code (1<<28)|(disk<<8)|part} above;
 * hd disks use majors 3 and 22 with 6 partition bits; sd disks major 8. So xvda is 51712, hda 768.
 */
public final class DeviceNumber {
    private static final Pattern NAME = Pattern.compile("(xvd|hd|sd)([a-z]+)([0-9]*)");

    private DeviceNumber() {
    }

    /** The devid of {@code name} ({@code xvda}, {@code xvdb1}, {@code hda}, or a decimal devid). */
    public static int of(String name) {
        if (name.chars().allMatch(Character::isDigit) && !name.isEmpty()) {
            return Integer.parseInt(name);
        }
        Matcher m = NAME.matcher(name);
        if (!m.matches()) {
            throw new IllegalArgumentException("disk name '" + name + "' is not xvdX, hdX, sdX or a decimal devid");
        }
        int disk = 0;
        for (char c : m.group(2).toCharArray()) {
            disk = disk * 26 + (c - 'a' + 1);
        }
        disk -= 1; // letters are bijective base 26: a = 0, z = 25, aa = 26
        int part = m.group(3).isEmpty() ? 0 : Integer.parseInt(m.group(3));
        switch (m.group(1)) {
            case "xvd":
                if (disk < 16 && part < 16) {
                    return (202 << 8) | (disk << 4) | part;
                }
                if (part > 255 || disk > 0xfffff) {
                    throw new IllegalArgumentException("disk name '" + name + "' is outside the xvd numbering");
                }
                return (1 << 28) | (disk << 8) | part;
            case "hd":
                if (disk > 3 || part > 63) {
                    throw new IllegalArgumentException("disk name '" + name + "': only hda..hdd with partitions < 64");
                }
                return ((disk < 2 ? 3 : 22) << 8) | ((disk % 2) << 6) | part;
            default:
                if (disk > 15 || part > 15) {
                    throw new IllegalArgumentException("disk name '" + name + "': only sda..sdp with partitions < 16");
                }
                return (8 << 8) | (disk << 4) | part;
        }
    }
}
