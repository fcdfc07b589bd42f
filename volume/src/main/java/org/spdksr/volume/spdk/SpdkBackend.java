package org.spdksr.volume.spdk;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.UUID;
import java.util.regex.Pattern;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;
import org.spdksr.plugin.spdk.SpdkClientSettings;
import org.spdksr.volume.sr.Backends;
import org.spdksr.volume.store.Backend;
import org.spdksr.volume.store.FoundSr;
import org.spdksr.volume.store.SrSite;

/**
 * The {@code spdk} back end: an SR is an SPDK lvstore on a base device spdk_tgt owns, a volume is
 * a thin lvol (ARCHITECTURE.md §4, spdk-rpc.md §6).
 */
public final class SpdkBackend implements Backend {
    public static final String NAME = "spdk";
    static final String NVME_PCI = "nvme_pci";
    static final String AIO_PATH = "aio_path";
    static final String SPDK_SOCKET = "spdk_socket";
    static final String CLUSTER_SIZE = "cluster_size";
    static final String SR_UUID = "sr_uuid";
    private static final Pattern PCI = Pattern.compile("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
    private static final long MIB = 1L << 20;

    private final SpdkBackendSettings settings;

    public SpdkBackend(SpdkBackendSettings settings) {
        this.settings = settings;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Map<String, String> deviceConfigKeys() {
        Map<String, String> keys = new LinkedHashMap<>();
        keys.put(NVME_PCI, "spdk back end: PCI address (e.g. 0000:01:00.0) of an NVMe drive SPDK takes over "
                + "entirely (bdev_nvme_attach_controller, trtype PCIe); the SR is an lvstore on its first namespace");
        keys.put(AIO_PATH, "spdk back end, instead of nvme_pci: absolute path of a file or block device spdk_tgt "
                + "opens through an aio bdev (for hosts without a dedicated NVMe drive)");
        keys.put(SPDK_SOCKET, "spdk back end: JSON-RPC socket of spdk_tgt (default "
                + SpdkClientSettings.DEFAULT_SOCKET + ", the one the spdk-sr-tgt service listens on)");
        keys.put(CLUSTER_SIZE, "spdk back end, SR.create only: lvstore cluster size in bytes, a power of two of at "
                + "least 1 MiB (default SPDK's, 4 MiB); volumes grow in whole clusters");
        keys.put(SR_UUID, "written by SR.create: the uuid of the SR the device must hold; "
                + "attaching refuses a device holding another SR");
        return keys;
    }

    @Override
    public boolean selects(Map<String, String> deviceConfig) {
        return deviceConfig.containsKey(NVME_PCI) || deviceConfig.containsKey(AIO_PATH);
    }

    @Override
    public SrSite site(Map<String, String> deviceConfig) {
        Backends.rejectUnknownKeys(this, deviceConfig);
        SpdkDevice device = deviceOf(deviceConfig);
        Path socket = socketOf(deviceConfig.get(SPDK_SOCKET));
        OptionalLong clusterSize = clusterSizeOf(deviceConfig.get(CLUSTER_SIZE));
        String srUuid = deviceConfig.get(SR_UUID);
        if (srUuid != null) {
            try {
                srUuid = UUID.fromString(srUuid).toString();
            } catch (IllegalArgumentException e) {
                throw invalid("device-config:sr_uuid must be a UUID, got '" + srUuid + "'.");
            }
        }
        createStateRoot();
        SpdkSite site = new SpdkSite(settings, device, socket, clusterSize, srUuid);
        if (srUuid != null) {
            return site;
        }
        // No sr_uuid (a probe, or a PBD typed by hand): the device itself says which SR it holds.
        List<FoundSr> found;
        try {
            found = site.srsOnDevice();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return found.size() == 1 ? new SpdkSite(settings, device, socket, clusterSize, found.get(0).srUuid()) : site;
    }

    @Override
    public Optional<SrSite> siteOf(String handle) {
        URI uri;
        try {
            uri = new URI(handle);
        } catch (URISyntaxException e) {
            return Optional.empty();
        }
        if (!NAME.equals(uri.getScheme()) || uri.getPath() == null || !uri.getPath().startsWith("/")) {
            return Optional.empty();
        }
        Path directory = Path.of(uri.getPath());
        if (directory.getFileName() == null) {
            // spdk:/// names no SR directory (issue 19: was a NullPointerException).
            return Optional.empty();
        }
        SpdkBackendSettings here = settings.withStateRoot(directory.getParent());
        String srUuid = directory.getFileName().toString();
        try {
            Optional<Map<String, String>> config = SpdkSite.storedDeviceConfig(directory);
            if (config.isEmpty()) {
                // No state on this host: the site reports "no SR" on use.
                return Optional.of(new SpdkSite(here, null, SpdkClientSettings.DEFAULT_SOCKET, OptionalLong.empty(),
                        srUuid));
            }
            Map<String, String> c = config.get();
            return Optional.of(new SpdkSite(here, deviceOf(c), socketOf(c.get(SPDK_SOCKET)),
                    clusterSizeOf(c.get(CLUSTER_SIZE)), srUuid));
        } catch (IOException e) {
            throw new SmapiException(new StorageError.SrDoesNotExist(handle), "Cannot read the state of SR " + srUuid
                    + " in " + directory + ": " + e.getMessage() + ". Re-plug the SR (xe pbd-plug).", e);
        }
    }

    private void createStateRoot() {
        try {
            Files.createDirectories(settings.stateRoot());
        } catch (IOException e) {
            throw new SmapiException(new StorageError.BackendFailure("SR_BACKEND_FAILURE", "State_directory",
                    settings.stateRoot().toString()), "Cannot create the spdk-sr state directory "
                    + settings.stateRoot() + ": " + e.getMessage() + ". Check the disk and permissions of dom0.", e);
        }
    }

    private static SpdkDevice deviceOf(Map<String, String> config) {
        String pci = config.get(NVME_PCI);
        String aio = config.get(AIO_PATH);
        if ((pci == null) == (aio == null)) {
            throw invalid("give exactly one of device-config:" + NVME_PCI + " (an NVMe drive) and device-config:"
                    + AIO_PATH + " (a file or block device).");
        }
        if (pci != null) {
            String address = pci.toLowerCase(Locale.ROOT);
            if (!PCI.matcher(address).matches()) {
                throw invalid("device-config:" + NVME_PCI + " must be a PCI address like 0000:01:00.0, got '" + pci
                        + "'. 'lspci -D | grep -i nvme' lists the drives.");
            }
            return new SpdkDevice.Nvme(address);
        }
        Path path = pathOf(AIO_PATH, aio);
        if (!path.isAbsolute()) {
            throw invalid("device-config:" + AIO_PATH + " must be an absolute path, got '" + aio + "'.");
        }
        if (!Files.exists(path)) {
            throw new SmapiException(new StorageError.SrDoesNotExist(aio), "The device " + aio + " given as "
                    + "device-config:" + AIO_PATH + " does not exist. Check the path, or create the file.");
        }
        return new SpdkDevice.Aio(path.normalize());
    }

    /** A device-config path; a NUL byte in it is a bad argument, not an internal error (issue 19). */
    private static Path pathOf(String key, String text) {
        try {
            return Path.of(text);
        } catch (java.nio.file.InvalidPathException e) {
            throw invalid("device-config:" + key + " is not a usable path (" + e.getReason() + "). Give an absolute "
                    + "path.");
        }
    }

    private static Path socketOf(String text) {
        if (text == null) {
            return SpdkClientSettings.DEFAULT_SOCKET;
        }
        Path socket = pathOf(SPDK_SOCKET, text);
        if (!socket.isAbsolute()) {
            throw invalid("device-config:" + SPDK_SOCKET + " must be an absolute path, got '" + text + "'.");
        }
        return socket;
    }

    private static OptionalLong clusterSizeOf(String text) {
        if (text == null) {
            return OptionalLong.empty();
        }
        long size;
        try {
            size = Long.parseLong(text);
        } catch (NumberFormatException e) {
            size = -1;
        }
        if (size < MIB || Long.bitCount(size) != 1) {
            throw invalid("device-config:" + CLUSTER_SIZE + " must be a power of two of at least " + MIB
                    + " bytes, got '" + text + "'.");
        }
        return OptionalLong.of(size);
    }

    private static SmapiException invalid(String message) {
        return new SmapiException(StorageError.invalidArguments("device-config"), message);
    }
}
