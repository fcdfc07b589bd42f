package org.spdksr.volume.spdk;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.plugin.host.AttachedSr;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;
import org.spdksr.plugin.spdk.Lvstore;
import org.spdksr.plugin.spdk.SpdkClient;
import org.spdksr.plugin.spdk.SpdkErrorKind;
import org.spdksr.plugin.spdk.SpdkRpcException;
import org.spdksr.volume.store.FoundSr;
import org.spdksr.volume.store.Space;
import org.spdksr.volume.store.SrSite;
import org.spdksr.volume.store.VolumeStore;

/**
 * An SR on an SPDK lvstore named {@code spdksr-<sr-uuid>} on a base device, with its host state in
 * {@code <state root>/<sr-uuid>/}: the metadata database and the device-config, from which an SR
 * handle ({@code spdk:///<state root>/<sr-uuid>}) finds the device again. The SR's uuid is in the
 * lvstore's name because SPDK stores no user metadata (spdk-rpc.md §5), and SR.probe must find it
 * on the device alone.
 */
final class SpdkSite implements SrSite {
    private static final Logger LOG = LoggerFactory.getLogger(SpdkSite.class);
    static final String LVS_PREFIX = "spdksr-";
    static final String METADATA = "spdk-sr.db";
    static final String DEVICE_CONFIG = "device-config.json";

    private final SpdkBackendSettings settings;
    private final SpdkDevice device;
    private final SpdkCalls calls;
    private final OptionalLong clusterSize;
    /** Null while no SR is identified on the device (a probe, or an attach without sr_uuid). */
    private final String srUuid;
    private final SavedConfigWriter savedConfig = new SavedConfigWriter();
    private final ObjectMapper mapper = new ObjectMapper();

    SpdkSite(SpdkBackendSettings settings, SpdkDevice device, Path socket, OptionalLong clusterSize, String srUuid) {
        this.settings = settings;
        this.device = device;
        this.calls = new SpdkCalls(settings.clientSettings().apply(socket));
        this.clusterSize = clusterSize;
        this.srUuid = srUuid;
    }

    Path stateDirectory() {
        return settings.stateRoot().resolve(srUuid == null ? ".unidentified" : srUuid);
    }

    String lvsName() {
        return LVS_PREFIX + srUuid;
    }

    @Override
    public String handle() {
        try {
            return new URI(SpdkBackend.NAME, "", stateDirectory().toString(), null).toASCIIString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException("cannot make an SR handle for " + stateDirectory(), e);
        }
    }

    @Override
    public String describe() {
        String where = device == null ? "an unknown device" : device.describe();
        return (srUuid == null ? "no spdk-sr lvstore identified" : "lvstore " + lvsName()) + " on " + where
                + " (spdk_tgt at " + calls.socket() + ")";
    }

    @Override
    public Path metadataFile() {
        return stateDirectory().resolve(METADATA);
    }

    /** Beside the state directory, not in it: SR.create takes the lock before the directory exists. */
    @Override
    public Path lockFile() {
        return settings.stateRoot().resolve("." + stateDirectory().getFileName() + ".lock");
    }

    @Override
    public VolumeStore volumes() {
        return new SpdkVolumeStore(calls, lvsName(), handle(), settings.crashPoints());
    }

    @Override
    public Map<String, String> deviceConfig(String uuid) {
        Map<String, String> config = new LinkedHashMap<>();
        config.put(device.configKey(), device.configValue());
        config.put(SpdkBackend.SPDK_SOCKET, calls.socket().toString());
        clusterSize.ifPresent(size -> config.put(SpdkBackend.CLUSTER_SIZE, Long.toString(size)));
        config.put(SpdkBackend.SR_UUID, uuid);
        return config;
    }

    @Override
    public AttachedSr attachedAs(String uuid) {
        return AttachedSr.spdk(uuid, handle(), metadataFile(), LVS_PREFIX + uuid, calls.socket());
    }

    /** SR.create: the base bdev, then the lvstore, unless a retried create made it already. */
    @Override
    public void prepare() throws IOException {
        calls.run("create lvstore " + lvsName() + " on " + device.describe(), device.configValue(), client -> {
            ensureBaseBdev(client);
            List<Lvstore> onDevice = lvstoresOnDevice(client);
            if (onDevice.stream().anyMatch(l -> l.name().equals(lvsName()))) {
                return null; // a retried SR.create
            }
            if (!onDevice.isEmpty()) {
                Lvstore other = onDevice.get(0);
                String owner = other.name().startsWith(LVS_PREFIX)
                        ? "SR " + other.name().substring(LVS_PREFIX.length())
                        : "something other than spdk-sr";
                throw new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE", "SR_exists",
                        device.configValue()), device.describe() + " already holds lvstore " + other.name()
                        + " (uuid " + other.uuid() + ", made by " + owner + "). Use xe sr-probe to see it and "
                        + "xe sr-introduce to bring it back, destroy it, or choose another device.");
            }
            client.createLvstore(device.bdevName(), lvsName(), clusterSize);
            LOG.info("created lvstore {} on {}", lvsName(), device.describe());
            settings.crashPoints().reached("spdk: lvstore created");
            return null;
        });
        writeDeviceConfig();
    }

    /** SR.attach: spdk_tgt answers, knows the base bdev, has examined it and shows the lvstore. */
    @Override
    public void attach() throws IOException {
        calls.run("attach SR " + srUuid + " (" + device.describe() + ")", handle(), client -> {
            ensureBaseBdev(client);
            client.waitForExamine(); // lvstores load by examine when the bdev registers (§5)
            if (client.lvstoreByName(lvsName()).isEmpty()) {
                throw new SmapiException(new StorageError.SrDoesNotExist(srUuid), device.describe()
                        + " holds no lvstore " + lvsName() + ": SR " + srUuid + " was destroyed there, or this is "
                        + "not the device it was created on. 'xe sr-probe type=spdk device-config:"
                        + device.configKey() + "=" + device.configValue() + "' shows what the device holds.");
            }
            return null;
        });
        writeDeviceConfig();
    }

    /** SR.detach: gives the base device back; spdk_tgt not running means there is nothing to give back. */
    @Override
    public void release() throws IOException {
        if (device == null) {
            return;
        }
        try (SpdkClient client = new SpdkClient(settings.clientSettings().apply(calls.socket()))) {
            if (client.bdev(device.bdevName()).isPresent()) {
                device.detach(client);
                savedConfig.save(client, settings.savedConfigFor(calls.socket()));
            }
        } catch (SpdkRpcException e) {
            if (e.kind() != SpdkErrorKind.NOT_RUNNING && e.kind() != SpdkErrorKind.NOT_FOUND) {
                throw SpdkFailures.of(e, "detach SR " + srUuid + " from " + device.describe(), handle());
            }
            LOG.warn("SR.detach of {}: {}", handle(), e.getMessage());
        }
    }

    /** SR.destroy: the lvstore with every lvol in it (§6), the base bdev, then the host state. */
    @Override
    public void destroy() throws IOException {
        if (device != null) {
            calls.run("destroy lvstore " + lvsName() + " on " + device.describe(), handle(), client -> {
                ensureBaseBdev(client);
                client.waitForExamine();
                Optional<Lvstore> store = client.lvstoreByName(lvsName());
                if (store.isPresent()) {
                    client.deleteLvstore(store.get().uuid());
                    settings.crashPoints().reached("SR.destroy: lvstore deleted");
                }
                device.detach(client);
                settings.crashPoints().reached("SR.destroy: base device detached");
                savedConfig.save(client, settings.savedConfigFor(calls.socket()));
                settings.crashPoints().reached("SR.destroy: configuration saved");
                return null;
            });
        }
        // The metadata last of the host state: while it is there, a retried SR.destroy finds the SR.
        Files.deleteIfExists(stateDirectory().resolve(DEVICE_CONFIG));
        Files.deleteIfExists(stateDirectory().resolve(METADATA + "-journal"));
        Files.deleteIfExists(metadataFile());
        settings.crashPoints().reached("SR.destroy: metadata removed");
        Files.deleteIfExists(stateDirectory());
        // The lock file goes last: a caller waiting on it finds no SR once it gets the lock.
        Files.deleteIfExists(lockFile());
    }

    /** The SRs whose lvstores are on the device; a base bdev attached only to look is detached again. */
    @Override
    public List<FoundSr> srsOnDevice() throws IOException {
        return calls.run("look for lvstores on " + device.describe(), device.configValue(), client -> {
            boolean attachedNow = attachBaseBdev(client);
            try {
                client.waitForExamine();
                List<FoundSr> found = new ArrayList<>();
                for (Lvstore store : lvstoresOnDevice(client)) {
                    if (store.name().startsWith(LVS_PREFIX)) {
                        found.add(new FoundSr(store.name().substring(LVS_PREFIX.length()),
                                new Space(store.totalBytes(), store.freeBytes())));
                    }
                }
                return found;
            } finally {
                if (attachedNow) {
                    device.detach(client);
                }
            }
        });
    }

    private List<Lvstore> lvstoresOnDevice(SpdkClient client) throws SpdkRpcException {
        List<Lvstore> stores = new ArrayList<>();
        for (Lvstore store : client.lvstores()) {
            if (store.baseBdev().equals(device.bdevName())) {
                stores.add(store);
            }
        }
        return stores;
    }

    /** Attaches the base bdev if spdk_tgt lacks it; saves the config whenever it attached one (§4). */
    private void ensureBaseBdev(SpdkClient client) throws SpdkRpcException, IOException {
        Path saved = settings.savedConfigFor(calls.socket());
        if (attachBaseBdev(client) || !Files.exists(saved)) {
            savedConfig.save(client, saved);
        }
    }

    /** @return true if this call attached it */
    private boolean attachBaseBdev(SpdkClient client) throws SpdkRpcException {
        if (client.bdev(device.bdevName()).isPresent()) {
            return false;
        }
        try {
            device.attach(client);
        } catch (SpdkRpcException e) {
            if (e.kind() == SpdkErrorKind.EXISTS && client.bdev(device.bdevName()).isPresent()) {
                return false; // attached meanwhile by a parallel call for another SR
            }
            throw e;
        }
        client.waitForExamine();
        return true;
    }

    private void writeDeviceConfig() throws IOException {
        Path directory = stateDirectory();
        Files.createDirectories(directory);
        Path temporary = directory.resolve("." + DEVICE_CONFIG + ".tmp");
        mapper.writerWithDefaultPrettyPrinter().writeValue(temporary.toFile(), deviceConfig(srUuid));
        Files.move(temporary, directory.resolve(DEVICE_CONFIG), StandardCopyOption.ATOMIC_MOVE,
                StandardCopyOption.REPLACE_EXISTING);
    }

    /** The device-config kept in an SR's state directory, if there is one. */
    static Optional<Map<String, String>> storedDeviceConfig(Path stateDirectory) throws IOException {
        Path file = stateDirectory.resolve(DEVICE_CONFIG);
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        return Optional.of(new ObjectMapper().readValue(file.toFile(), new TypeReference<Map<String, String>>() {}));
    }
}
