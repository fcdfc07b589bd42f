package org.spdksr.volume.store;

/** An SR's capacity in bytes, for sr_stat (smapiv3.md §4.1). */
public record Space(long total, long free) {}
