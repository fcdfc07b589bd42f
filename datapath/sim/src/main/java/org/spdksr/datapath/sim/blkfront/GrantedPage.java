package org.spdksr.datapath.sim.blkfront;

/** A guest page and the grant reference the backend uses for it. */
public record GrantedPage(int frame, int gref) {
}
