package org.spdksr.volume.store;

import java.util.Map;
import java.util.Optional;

/** One storage back end (like one SPDK bdev module): it recognises its device-config and its handles. */
public interface Backend {

    /** The back end's name, also the scheme of its SR handles. */
    String name();

    /** Every device-config key it reads, with a description for {@code SM.configuration}. */
    Map<String, String> deviceConfigKeys();

    /** Whether this device-config asks for this back end. */
    boolean selects(Map<String, String> deviceConfig);

    /**
     * The site a device-config names. Fails with a message for the administrator when a key is
     * unknown or the place does not exist.
     */
    SrSite site(Map<String, String> deviceConfig);

    /** The site behind an SR handle this back end issued, if it is one of its handles. */
    Optional<SrSite> siteOf(String handle);
}
