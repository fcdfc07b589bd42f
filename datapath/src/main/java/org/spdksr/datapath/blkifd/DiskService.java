package org.spdksr.datapath.blkifd;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.spdksr.datapath.device.BlockDevice;
import org.spdksr.datapath.nbd.NbdExport;
import org.spdksr.datapath.nbd.NbdServer;
import org.spdksr.datapath.nbd.NbdServerConfig;

/**
 * One disk as blkifd serves it: the guest's ring through {@link BlkifBackendService}, and the same
 * device over NBD on its own unix socket for dom0 consumers (HVM emulated boot, vdi-copy, export,
 * backup: ARCHITECTURE.md §1). It owns the device and closes it last.
 */
public final class DiskService implements AutoCloseable {
    private final DiskSpec spec;
    private final VbdBackend vbd;
    private final NbdServer nbd;

    /**
     * @param domid the guest domain
     * @param devid the virtual device number xenopsd uses for the disk
     * @param exportName the NBD export name, unique on its socket
     */
    public record DiskSpec(int domid, int devid, BlockDevice device, boolean readOnly, String exportName, Path nbdSocket) {}

    private DiskService(DiskSpec spec, VbdBackend vbd, NbdServer nbd) {
        this.spec = spec;
        this.vbd = vbd;
        this.nbd = nbd;
    }

    public static DiskService start(BlkifBackendService rings, DiskSpec spec) throws IOException {
        NbdExport export = new NbdExport(spec.exportName(),
                "domain " + spec.domid() + " disk " + spec.devid(), spec.device(), spec.readOnly(),
                NbdExport.Ownership.CALLER);
        NbdServer nbd = NbdServer.start(spec.nbdSocket(), NbdServerConfig.defaults(), List.of(export));
        try {
            return new DiskService(spec, rings.serve(spec.domid(), spec.devid(), spec.device(), spec.readOnly()), nbd);
        } catch (RuntimeException e) {
            nbd.close();
            throw e;
        }
    }

    public DiskSpec spec() {
        return spec;
    }

    public VbdBackend vbd() {
        return vbd;
    }

    /** The {@code Nbd} implementation's URI: exactly four colon-separated parts (smapiv3.md §4.1). */
    public String nbdUri() {
        return "nbd:unix:" + nbd.socketPath() + ":exportname=" + spec.exportName();
    }

    @Override
    public void close() {
        try {
            vbd.close();
        } finally {
            try {
                nbd.close();
            } finally {
                spec.device().close();
            }
        }
    }
}
