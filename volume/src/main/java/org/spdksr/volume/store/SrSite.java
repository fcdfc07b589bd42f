package org.spdksr.volume.store;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

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

    /** Removes everything the SR created, metadata included (SR.destroy). */
    void destroy() throws IOException;
}
