package org.spdksr.volume.sr;

import org.spdksr.volume.metadata.MetadataStore;
import org.spdksr.volume.metadata.SrRecord;
import org.spdksr.volume.store.SrSite;

/** An existing SR, locked, with its metadata open: what every SR and volume method works on. */
public record OpenSr(SrSite site, SrRecord record, MetadataStore metadata) {}
