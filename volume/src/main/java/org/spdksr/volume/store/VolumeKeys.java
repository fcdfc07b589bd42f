package org.spdksr.volume.store;

import java.util.regex.Pattern;

/**
 * Volume keys come back from xapi as {@code VDI.location} and may have been typed by a person
 * (vdi-introduce), so a key is checked before it is used to name a file or an lvol.
 */
public final class VolumeKeys {
    private static final Pattern VALID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,127}");

    private VolumeKeys() {}

    public static boolean isValid(String key) {
        return VALID.matcher(key).matches();
    }
}
