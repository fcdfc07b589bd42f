package org.spdksr.datapath.xen;

import java.nio.file.Path;
import java.util.Map;

/**
 * Which Xen implementation to use. Chosen explicitly by configuration, never by probing: a host
 * without /dev/xen must fail loudly in LINUX mode rather than quietly run the simulation
 * (ARCHITECTURE.md §3).
 */
public record XenAccessConfig(Mode mode, Path simRoot) {
    public static final String MODE_KEY = "SPDKSR_XEN_MODE";
    public static final String SIM_ROOT_KEY = "SPDKSR_XEN_SIM_ROOT";

    public enum Mode {
        /** /dev/xen/gntdev, /dev/xen/evtchn and the xenstored socket of a real dom0. */
        LINUX,
        /** A simulated host ({@code SimXenHost}) rooted at {@code simRoot}; the backend is domain 0. */
        SIM
    }

    public XenAccessConfig {
        if (mode == Mode.SIM && simRoot == null) {
            throw new IllegalArgumentException("simulated Xen needs " + SIM_ROOT_KEY + " (the SimXenHost root directory)");
        }
    }

    public static XenAccessConfig linux() {
        return new XenAccessConfig(Mode.LINUX, null);
    }

    public static XenAccessConfig sim(Path root) {
        return new XenAccessConfig(Mode.SIM, root);
    }

    /** Reads {@value #MODE_KEY} ({@code linux} or {@code sim}) and {@value #SIM_ROOT_KEY} from {@code settings}. */
    public static XenAccessConfig from(Map<String, String> settings) {
        String mode = settings.get(MODE_KEY);
        if (mode == null || mode.isBlank()) {
            throw new IllegalArgumentException(MODE_KEY + " is not set; set it to 'linux' on a Xen host or 'sim' "
                    + "with " + SIM_ROOT_KEY + " for the simulation");
        }
        switch (mode.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "linux":
                return linux();
            case "sim":
                String root = settings.get(SIM_ROOT_KEY);
                if (root == null || root.isBlank()) {
                    throw new IllegalArgumentException(MODE_KEY + "=sim needs " + SIM_ROOT_KEY);
                }
                return sim(Path.of(root));
            default:
                throw new IllegalArgumentException(MODE_KEY + "='" + mode + "' is not 'linux' or 'sim'");
        }
    }
}
