package org.spdksr.volume.sr;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;
import org.spdksr.volume.store.Backend;
import org.spdksr.volume.store.SrSite;

/** The back ends this build has, and the choice among them by device-config or SR handle. */
public final class Backends {
    /** What a back end names as the faulty argument when a device-config key is wrong. */
    public static final String DEVICE_CONFIG = "device-config";

    private final List<Backend> backends;

    public Backends(List<Backend> backends) {
        this.backends = List.copyOf(backends);
    }

    /**
     * The site a device-config names, for the SR method {@code method}. Back ends report a bad
     * device-config against the {@link #DEVICE_CONFIG} pseudo-argument; it is reported to xapi
     * against the method, like every other malformed argument.
     */
    public SrSite siteFor(Map<String, String> deviceConfig, String method) {
        for (Backend backend : backends) {
            if (backend.selects(deviceConfig)) {
                try {
                    return backend.site(deviceConfig);
                } catch (SmapiException e) {
                    if (e.error().equals(StorageError.invalidArguments(DEVICE_CONFIG))) {
                        throw new SmapiException(StorageError.invalidArguments(method), method + ": " + e.getMessage(), e);
                    }
                    throw e;
                }
            }
        }
        throw new SmapiException(StorageError.invalidArguments(method),
                "The device-config " + deviceConfig.keySet() + " selects no spdk-sr back end. Give "
                        + "device-config:path=<directory> for an SR in a directory, device-config:nvme_pci=<PCI "
                        + "address> for an NVMe drive owned by SPDK, or device-config:aio_path=<file or block "
                        + "device> for SPDK on a file or block device.");
    }

    public SrSite siteOf(String handle) {
        for (Backend backend : backends) {
            var site = backend.siteOf(handle);
            if (site.isPresent()) {
                return site.get();
            }
        }
        throw new SmapiException(new StorageError.SrDoesNotExist(handle),
                "'" + handle + "' is not an spdk-sr SR handle. Re-plug the SR's PBD (xe pbd-plug) so that "
                        + "xapi learns the handle again.");
    }

    /** Every device-config key of every back end, for {@code Plugin.Query}'s configuration map. */
    public Map<String, String> deviceConfigKeys() {
        Map<String, String> keys = new LinkedHashMap<>();
        backends.forEach(b -> keys.putAll(b.deviceConfigKeys()));
        return keys;
    }

    /**
     * Refuses a device-config with a key {@code backend} does not read, naming the keys it does:
     * a mistyped key must not be silently ignored and leave the SR on the wrong device.
     */
    public static void rejectUnknownKeys(Backend backend, Map<String, String> deviceConfig) {
        java.util.Set<String> unknown = new java.util.TreeSet<>(deviceConfig.keySet());
        unknown.removeAll(backend.deviceConfigKeys().keySet());
        if (!unknown.isEmpty()) {
            throw new SmapiException(StorageError.invalidArguments(DEVICE_CONFIG), "unknown device-config key(s) "
                    + unknown + " for the " + backend.name() + " back end; the keys it reads are "
                    + backend.deviceConfigKeys().keySet() + ". Correct the device-config and retry.");
        }
    }
}
