package org.spdksr.volume.sr;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.plugin.idl.Health;
import org.spdksr.plugin.idl.ProbeResult;
import org.spdksr.plugin.idl.SrStat;
import org.spdksr.plugin.idl.Volume;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;
import org.spdksr.volume.metadata.SrRecord;
import org.spdksr.volume.store.Space;
import org.spdksr.volume.store.SrSite;

/** The SR methods of smapiv3.md §4.4, with the lifecycle rules of §6. */
public final class SrOperations {
    private static final Logger LOG = LoggerFactory.getLogger(SrOperations.class);

    private final Backends backends;
    private final SrAccess access;

    public SrOperations(Backends backends, SrAccess access) {
        this.backends = backends;
        this.access = access;
    }

    /** Returns the device-config xapi stores in every PBD of the SR. */
    public Map<String, String> create(String uuid, Map<String, String> deviceConfig, String name, String description)
            throws Exception {
        try {
            UUID.fromString(uuid);
        } catch (IllegalArgumentException e) {
            throw new SmapiException(StorageError.invalidArguments("SR.create"), "SR.create: '" + uuid
                    + "' is not a UUID; xapi passes the new SR's uuid here.");
        }
        SrSite site = backends.siteFor(deviceConfig, "SR.create");
        return access.withSite(site, (s, metadata, existing) -> {
            if (existing.isPresent()) {
                if (existing.get().uuid().equals(uuid)) {
                    return site.deviceConfig(uuid); // a retried create of this very SR
                }
                throw new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE", "SR_exists",
                        site.handle()), site.describe() + " already holds SR " + existing.get().uuid() + " ('"
                        + existing.get().name() + "'). Use xe sr-probe and xe sr-introduce to bring it back, or "
                        + "destroy it, or choose another device.");
            }
            site.prepare();
            metadata.initialise(new SrRecord(uuid, name, description, backendOf(site)));
            LOG.info("created SR {} in {}", uuid, site.describe());
            return site.deviceConfig(uuid);
        });
    }

    public String attach(Map<String, String> deviceConfig) throws Exception {
        SrSite site = backends.siteFor(deviceConfig, "SR.attach");
        return access.withSr(site, sr -> {
            String expected = deviceConfig.get("sr_uuid");
            if (expected != null && !expected.equals(sr.record().uuid())) {
                throw new SmapiException(new StorageError.SrDoesNotExist(expected), site.describe() + " holds SR "
                        + sr.record().uuid() + ", not SR " + expected + " that this PBD expects. Check which "
                        + "device is mounted there.");
            }
            return site.handle();
        });
    }

    /** Holds nothing between calls, so there is nothing to release; succeeds for an unknown SR too. */
    public void detach(String handle) {
        LOG.info("detached SR {}", handle);
    }

    public void destroy(String handle) throws Exception {
        SrSite site = backends.siteOf(handle);
        if (!java.nio.file.Files.exists(site.metadataFile())) {
            LOG.info("SR {} is already gone", handle);
            return;
        }
        access.withSite(site, (s, metadata, existing) -> {
            site.destroy();
            LOG.info("destroyed SR {} in {}", existing.map(SrRecord::uuid).orElse("(no record)"), site.describe());
            return null;
        });
    }

    public SrStat stat(String handle) throws Exception {
        SrSite site = backends.siteOf(handle);
        return access.withSr(site, this::statOf);
    }

    public List<Volume> ls(String handle) throws Exception {
        return access.withSr(backends.siteOf(handle), Inventory::reconcile);
    }

    public void setName(String handle, String name) throws Exception {
        access.withSr(backends.siteOf(handle), sr -> {
            sr.metadata().setSrName(name);
            return null;
        });
    }

    public void setDescription(String handle, String description) throws Exception {
        access.withSr(backends.siteOf(handle), sr -> {
            sr.metadata().setSrDescription(description);
            return null;
        });
    }

    /**
     * One result per device-config: complete either way, and carrying the SR when there is one
     * (with {@code sr_uuid}, as xapi-storage-script checks, smapiv3.md §4.1).
     */
    public List<ProbeResult> probe(Map<String, String> deviceConfig) throws Exception {
        SrSite site = backends.siteFor(deviceConfig, "SR.probe");
        // Probing a device that holds no SR must leave no trace on it, not even a lock file.
        if (java.nio.file.Files.exists(site.metadataFile())) {
            Optional<ProbeResult> found = access.withSite(site, (s, metadata, existing) -> {
                if (existing.isEmpty()) {
                    return Optional.<ProbeResult>empty();
                }
                SrStat stat = statOf(new OpenSr(site, existing.get(), metadata));
                return Optional.of(new ProbeResult(site.deviceConfig(existing.get().uuid()), true, stat, Map.of()));
            });
            if (found.isPresent()) {
                return List.of(found.get());
            }
        }
        Map<String, String> config = new java.util.HashMap<>(site.deviceConfig(""));
        config.remove("sr_uuid");
        return List.of(new ProbeResult(config, true, null, Map.of("sr", "none: an SR can be created here")));
    }

    private SrStat statOf(OpenSr sr) throws Exception {
        Space space = sr.site().volumes().space();
        return new SrStat(sr.site().handle(), sr.record().name(), sr.record().uuid(), sr.record().description(),
                space.free(), space.total(), List.of(), false, new Health.Healthy(""));
    }

    private static String backendOf(SrSite site) {
        return site.handle().substring(0, site.handle().indexOf(':'));
    }
}
