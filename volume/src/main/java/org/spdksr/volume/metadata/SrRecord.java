package org.spdksr.volume.metadata;

/** The SR's own row: what SR.create was given, kept so SR.stat can answer without xapi. */
public record SrRecord(String uuid, String name, String description, String backend) {}
