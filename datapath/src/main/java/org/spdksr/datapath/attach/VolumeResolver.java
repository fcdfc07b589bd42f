package org.spdksr.datapath.attach;

import java.io.IOException;
import java.sql.SQLException;
import org.spdksr.datapath.containment.SrContainment;
import org.spdksr.datapath.containment.SrMetadataLookup;
import org.spdksr.plugin.host.AttachedSr;
import org.spdksr.plugin.idl.VolumeUri;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;

/**
 * Where a URI enters the datapath (Datapath.open, attach, activate; smapiv3.md §4.6): accepts it
 * only as a volume of an SR attached on this host ({@link SrContainment}) that the SR's metadata
 * lists. Everything else is refused with an error record xapi shows (smapiv3.md §3.3). Costs a
 * few file-system look-ups and one read-only SQLite query.
 */
final class VolumeResolver {
    private final SrContainment containment;
    private final SrMetadataLookup metadata = new SrMetadataLookup();

    VolumeResolver(SrContainment containment) {
        this.containment = containment;
    }

    void check(VolumeUri uri, String method) throws IOException {
        AttachedSr sr = containment.check(uri, method);
        boolean listed;
        try {
            listed = metadata.hasVolume(sr.metadataFile(), sr.srUuid(), uri.key());
        } catch (SQLException e) {
            throw new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE", "Metadata_unreadable",
                    sr.metadata()), method + ": cannot read the metadata " + sr.metadata() + " of SR " + sr.srUuid()
                    + ": " + e.getMessage() + ". Check the SR's storage, then re-plug its PBD (xe pbd-plug).", e);
        }
        if (!listed) {
            throw new SmapiException(new StorageError.VolumeDoesNotExist(uri.key()), method + ": volume '" + uri.key()
                    + "' is not in the metadata " + sr.metadata() + " of SR " + sr.srUuid() + " (destroyed, or "
                    + "never made there). Run xe sr-scan and take the URI from Volume.stat again.");
        }
    }
}
