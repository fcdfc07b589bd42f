package org.spdksr.datapath.xen.xenstore;

/** A watch firing: the path that changed (or the watched path itself) and the watch's token (blkif.md §4.2). */
public record WatchEvent(String path, String token) {
}
