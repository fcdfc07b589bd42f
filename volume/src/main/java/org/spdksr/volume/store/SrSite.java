package org.spdksr.volume.store;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.spdksr.plugin.host.AttachedSr;

/** Where one SR lives: its handle, the files of its metadata and lock, and its volume store. */
public interface SrSite {

    /** The {@code sr} string SR.attach returns and every later call passes back (smapiv3.md §6). */
    String handle();

    /** A human name for messages: the directory, or the lvolstore. */
    String describe();

    Path metadataFile();

    Path lockFile();

    /** Creates what the back end needs before the first volume (SR.create). */
    void prepare() throws IOException;

    VolumeStore volumes();

    /** The device-config SR.create returns; xapi stores it in every PBD of the SR (smapiv3.md §6). */
    Map<String, String> deviceConfig(String srUuid);

    /**
     * Removes what {@link #prepare} left when no SR was recorded after it (an SR.create that
     * failed or was killed), so that a device holding no SR holds nothing of spdk-sr's.
     */
    default void forgetUnrecorded() throws IOException {}

    /** Removes everything the SR created, metadata included (SR.destroy). */
    void destroy() throws IOException;

    /**
     * Makes an existing SR usable on this host (SR.attach, every PBD plug and boot, smapiv3.md §6):
     * for example a base device a service must open again. Idempotent. A directory needs nothing.
     */
    default void attach() throws IOException {}

    /**
     * Gives back what {@link #attach} took (SR.detach). Idempotent, and it must not fail because the
     * thing to release is already gone: xapi treats SR.detach of an unknown SR as done (§6).
     */
    default void release() throws IOException {}

    /**
     * The SRs the device itself records, found without this host's metadata, for SR.probe: an
     * SPDK lvstore carries its SR's uuid in its name, while a directory knows nothing beyond the
     * metadata file (the default). Must leave no trace on a device without an SR.
     */
    default List<FoundSr> srsOnDevice() throws IOException {
        return List.of();
    }

    /**
     * What the datapath may serve of this SR once it is attached here: where its volumes are and
     * where its metadata is (AttachedSrs; issue 19: the datapath touches nothing outside its SRs).
     */
    AttachedSr attachedAs(String srUuid);
}
