package org.spdksr.volume.sr;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.plugin.host.AttachedSrs;
import org.spdksr.plugin.idl.Health;
import org.spdksr.plugin.idl.ProbeResult;
import org.spdksr.plugin.idl.SrStat;
import org.spdksr.plugin.idl.Volume;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;
import org.spdksr.volume.metadata.SrRecord;
import org.spdksr.volume.store.CrashPoints;
import org.spdksr.volume.store.FoundSr;
import org.spdksr.volume.store.SiteUnreachableException;
import org.spdksr.volume.store.Space;
import org.spdksr.volume.store.SrSite;

/** The SR methods of smapiv3.md §4.4, with the lifecycle rules of §6. */
public final class SrOperations {
    private static final Logger LOG = LoggerFactory.getLogger(SrOperations.class);
    /** The device-config key SR.create adds: the SR the device must hold (checked on attach). */
    static final String SR_UUID = "sr_uuid";

    private final Backends backends;
    private final SrAccess access;
    private final AttachedSrs attached;
    private final CrashPoints crashPoints;

    public SrOperations(Backends backends, SrAccess access) {
        this(backends, access, CrashPoints.NONE);
    }

    public SrOperations(Backends backends, SrAccess access, CrashPoints crashPoints) {
        this(backends, access, AttachedSrs.fromEnvironment(System.getenv()), crashPoints);
    }

    /** @param attached where SR.attach records the SRs attached on this host, for the datapath */
    public SrOperations(Backends backends, SrAccess access, AttachedSrs attached, CrashPoints crashPoints) {
        this.backends = backends;
        this.access = access;
        this.attached = attached;
        this.crashPoints = crashPoints;
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
        String given = deviceConfig.get(SR_UUID);
        if (given != null && !given.equals(uuid)) {
            throw new SmapiException(StorageError.invalidArguments("SR.create"), "SR.create: device-config:sr_uuid is "
                    + given + " but the new SR's uuid is " + uuid + ". Leave sr_uuid out; SR.create fills it in.");
        }
        // The site may depend on the SR's uuid (the spdk back end keeps its host state per SR).
        Map<String, String> withUuid = new java.util.HashMap<>(deviceConfig);
        withUuid.put(SR_UUID, uuid);
        SrSite site = backends.siteFor(withUuid, "SR.create");
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
            // The device first, the record last: until the record exists the SR is not there, and a
            // retried SR.create finds what the killed one prepared and goes on (prepare is idempotent).
            site.prepare();
            crashPoints.reached("SR.create: site prepared");
            metadata.initialise(new SrRecord(uuid, name, description, backendOf(site)));
            crashPoints.reached("SR.create: SR recorded");
            LOG.info("created SR {} in {}", uuid, site.describe());
            return site.deviceConfig(uuid);
        });
    }

    public String attach(Map<String, String> deviceConfig) throws Exception {
        SrSite site = backends.siteFor(deviceConfig, "SR.attach");
        adoptIfOnlyTheDeviceKnows(site, deviceConfig.get(SR_UUID));
        return access.withSr(site, sr -> {
            String expected = deviceConfig.get(SR_UUID);
            if (expected != null && !expected.equals(sr.record().uuid())) {
                throw new SmapiException(new StorageError.SrDoesNotExist(expected), site.describe() + " holds SR "
                        + sr.record().uuid() + ", not SR " + expected + " that this PBD expects. Check which "
                        + "device is mounted there.");
            }
            site.attach();
            // Only now may the datapath serve the SR's volumes (issue 19).
            attached.record(site.attachedAs(sr.record().uuid()));
            return site.handle();
        });
    }

    /**
     * An SR the device records but this host has no metadata for (dom0 reinstalled, the SR
     * introduced again after sr-probe): starts its metadata afresh, so its volumes come back
     * with default names on the next SR.ls. Only for the SR the PBD names by uuid.
     */
    private void adoptIfOnlyTheDeviceKnows(SrSite site, String expected) throws Exception {
        if (expected == null || java.nio.file.Files.exists(site.metadataFile())
                || site.srsOnDevice().stream().noneMatch(found -> found.srUuid().equals(expected))) {
            return;
        }
        access.withSite(site, (s, metadata, existing) -> {
            if (existing.isEmpty()) {
                metadata.initialise(new SrRecord(expected, "", "", backendOf(site)));
                LOG.warn("SR {}: found on {} without metadata on this host; recorded it again, its volumes get "
                        + "default names", expected, site.describe());
            }
            return null;
        });
    }

    /**
     * Releases what SR.attach took on this host, if the back end took anything. Succeeds for an
     * unknown SR too: xapi-storage-script treats SR.detach as idempotent (smapiv3.md §6).
     */
    public void detach(String handle) throws Exception {
        SrSite site;
        try {
            site = backends.siteOf(handle);
        } catch (SmapiException e) {
            LOG.info("SR.detach of {}, which is not an spdk-sr SR handle: nothing to do", handle);
            return;
        }
        attached.forget(handle); // first: the datapath attaches nothing more of an SR going away
        access.withExistingSite(site, (s, metadata, existing) -> {
            site.release();
            return null;
        }, () -> {
            site.release();
            return null;
        });
        LOG.info("detached SR {}", handle);
    }

    public void destroy(String handle) throws Exception {
        SrSite site = backends.siteOf(handle);
        attached.forget(handle); // first: the datapath attaches nothing more of an SR going away
        // Idempotent (§6); a retry after an interrupted destroy also removes the lock file it left.
        access.withExistingSite(site, (s, metadata, existing) -> {
            site.destroy();
            LOG.info("destroyed SR {} in {}", existing.map(SrRecord::uuid).orElse("(no record)"), site.describe());
            return null;
        }, () -> {
            LOG.info("SR {} is already gone", handle);
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
        Optional<ProbeResult> here = access.withExistingSite(site, (s, metadata, existing) -> {
            if (existing.isEmpty()) {
                return Optional.<ProbeResult>empty();
            }
            SrStat stat = statOf(new OpenSr(site, existing.get(), metadata));
            return Optional.of(new ProbeResult(site.deviceConfig(existing.get().uuid()), true, stat, Map.of()));
        }, Optional::empty);
        if (here.isPresent()) {
            return List.of(here.get());
        }
        // What the device itself records: SRs made elsewhere, or whose host metadata is lost.
        List<ProbeResult> onDevice = new java.util.ArrayList<>();
        for (FoundSr sr : site.srsOnDevice()) {
            String uuid = sr.srUuid();
            Map<String, String> withUuid = new java.util.HashMap<>(deviceConfig);
            withUuid.put(SR_UUID, uuid);
            SrSite found = backends.siteFor(withUuid, "SR.probe");
            Optional<ProbeResult> known = access.withExistingSite(found, (s, metadata, existing) -> existing.isEmpty()
                    ? Optional.<ProbeResult>empty()
                    : Optional.of(new ProbeResult(found.deviceConfig(uuid), true,
                            statOf(new OpenSr(found, existing.get(), metadata)), Map.of())), Optional::empty);
            onDevice.add(known.orElseGet(() -> unrecorded(found, sr)));
        }
        if (!onDevice.isEmpty()) {
            return onDevice;
        }
        Map<String, String> config = new java.util.HashMap<>(site.deviceConfig(""));
        config.remove(SR_UUID);
        return List.of(new ProbeResult(config, true, null, Map.of("sr", "none: an SR can be created here")));
    }

    /** An SR the device holds but this host has no metadata for: its uuid and space, no name. */
    private static ProbeResult unrecorded(SrSite site, FoundSr sr) {
        SrStat stat = new SrStat(site.handle(), "", sr.srUuid(), "", sr.space().free(), sr.space().total(), List.of(),
                false, new Health.Healthy("this host has no metadata for the SR; its volumes get default names"));
        return new ProbeResult(site.deviceConfig(sr.srUuid()), true, stat, Map.of("metadata", "none on this host"));
    }

    private SrStat statOf(OpenSr sr) throws Exception {
        Space space;
        try {
            space = sr.site().volumes().space();
        } catch (SiteUnreachableException e) {
            return new SrStat(sr.site().handle(), sr.record().name(), sr.record().uuid(), sr.record().description(),
                    0, 0, List.of(), false, new Health.Unreachable(e.getMessage()));
        }
        return new SrStat(sr.site().handle(), sr.record().name(), sr.record().uuid(), sr.record().description(),
                space.free(), space.total(), List.of(), false, new Health.Healthy(""));
    }

    private static String backendOf(SrSite site) {
        return site.handle().substring(0, site.handle().indexOf(':'));
    }
}
