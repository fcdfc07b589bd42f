package org.spdksr.volume.store;

/** What a back end knows of a volume: that it exists, its size seen by the guest, the space it uses. */
public record StoredVolume(String key, long virtualSize, long physicalUtilisation) {}
