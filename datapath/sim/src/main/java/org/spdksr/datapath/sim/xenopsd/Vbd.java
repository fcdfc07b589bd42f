package org.spdksr.datapath.sim.xenopsd;

/** A plugged VBD: its spec and where its two xenstore directories are (blkif.md §5.2). */
public record Vbd(VbdSpec spec, int devid, String backendPath, String frontendPath) {

    static Vbd of(VbdSpec spec) {
        int devid = spec.devid();
        String backend = "/local/domain/" + spec.backendDomid() + "/backend/" + spec.backendKind() + "/"
                + spec.frontendDomid() + "/" + devid;
        String frontend = "/local/domain/" + spec.frontendDomid() + "/device/vbd/" + devid;
        return new Vbd(spec, devid, backend, frontend);
    }
}
