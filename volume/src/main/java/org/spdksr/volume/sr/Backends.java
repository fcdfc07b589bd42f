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
    private final List<Backend> backends;

    public Backends(List<Backend> backends) {
        this.backends = List.copyOf(backends);
    }

    public SrSite siteFor(Map<String, String> deviceConfig) {
        for (Backend backend : backends) {
            if (backend.selects(deviceConfig)) {
                return backend.site(deviceConfig);
            }
        }
        throw new SmapiException(StorageError.invalidArguments("device-config"),
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
}
