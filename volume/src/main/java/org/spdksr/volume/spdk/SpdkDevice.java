package org.spdksr.volume.spdk;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import org.spdksr.plugin.spdk.SpdkClient;
import org.spdksr.plugin.spdk.SpdkRpcException;

/**
 * The base device of an SR and the bdev spdk_tgt shows it as. Bdev names are derived from the
 * device, so every call on every host finds the same bdev again, and so does spdk_tgt replaying
 * its saved configuration (spdk-rpc.md §4).
 */
sealed interface SpdkDevice {

    /** The base bdev the lvstore lives on. */
    String bdevName();

    /** For messages: what the administrator named. */
    String describe();

    /** The device-config key and value that name it. */
    String configKey();

    String configValue();

    /** Registers the base bdev with spdk_tgt; examine then loads an lvstore found on it (§5). */
    void attach(SpdkClient client) throws SpdkRpcException;

    /** Unregisters the base bdev; an lvstore on it is unloaded, its data stays on the device. */
    void detach(SpdkClient client) throws SpdkRpcException;

    /** A file or block device through an aio bdev (for hosts without a dedicated drive, and tests). */
    record Aio(Path file) implements SpdkDevice {
        @Override
        public String bdevName() {
            String base = file.getFileName() == null ? "root" : file.getFileName().toString();
            base = base.replaceAll("[^A-Za-z0-9_-]", "_");
            return "spdksr_aio_" + base.substring(0, Math.min(base.length(), 24)) + "_" + shortHash(file.toString());
        }

        @Override
        public String describe() {
            return "aio device " + file;
        }

        @Override
        public String configKey() {
            return SpdkBackend.AIO_PATH;
        }

        @Override
        public String configValue() {
            return file.toString();
        }

        @Override
        public void attach(SpdkClient client) throws SpdkRpcException {
            client.aioCreate(bdevName(), file);
        }

        @Override
        public void detach(SpdkClient client) throws SpdkRpcException {
            client.aioDelete(bdevName());
        }
    }

    /** An NVMe drive SPDK takes over by PCI address; its first namespace is the base bdev. */
    record Nvme(String pciAddress) implements SpdkDevice {
        /** A controller name derived from the address, e.g. {@code spdksr_0000_01_00_0}. */
        String controller() {
            return "spdksr_" + pciAddress.replaceAll("[^0-9a-f]", "_");
        }

        /** bdev_nvme_attach_controller names namespaces {@code <controller>n<nsid>} (§6). */
        @Override
        public String bdevName() {
            return controller() + "n1";
        }

        @Override
        public String describe() {
            return "NVMe drive at PCI " + pciAddress;
        }

        @Override
        public String configKey() {
            return SpdkBackend.NVME_PCI;
        }

        @Override
        public String configValue() {
            return pciAddress;
        }

        @Override
        public void attach(SpdkClient client) throws SpdkRpcException {
            client.nvmeAttachPcie(controller(), pciAddress);
        }

        @Override
        public void detach(SpdkClient client) throws SpdkRpcException {
            client.nvmeDetach(controller());
        }
    }

    private static String shortHash(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

}
