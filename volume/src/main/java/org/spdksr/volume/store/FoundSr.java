package org.spdksr.volume.store;

/** An SR a device records by itself (SR.probe): its uuid and the space seen while looking. */
public record FoundSr(String srUuid, Space space) {}
