package org.spdksr.datapath.attach;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.spdksr.datapath.blkifd.daemon.RunDirectory;
import org.spdksr.datapath.xen.XenAccessConfig;

/**
 * How {@code Datapath.attach} starts a domain's blkifd, from {@value #ENV} (spdk-sr.conf or the
 * environment):
 * <ul>
 *   <li>{@code systemd}: as the unit spdk-sr-blkifd@, which runs in vm.slice with tapdisk and the
 *       other per-VM processes (xcp-ng-host.md §1.4). A child of the call would live in
 *       xapi-storage-script's cgroup instead and be killed with it by a toolstack restart;</li>
 *   <li>{@code direct}: as a detached child of the call (hosts without systemd, the demo, tests);</li>
 *   <li>{@code auto} (the default): systemd when systemd runs and its unit would run this very
 *       blkifd (same run directory, real Xen, the installed launcher), direct otherwise.</li>
 * </ul>
 * The choice is explicit and logged; either way, a blkifd counts as running when its control
 * socket answers, so one started either way is found and stopped by the other.
 */
enum BlkifdLaunch {
    SYSTEMD, DIRECT;

    static final String ENV = "SPDK_SR_BLKIFD_LAUNCH";

    /** What the host offers: {@code systemctl} is empty when systemd does not run here. */
    record Host(Optional<Path> systemctl) {
        /** systemd runs if /run/systemd/system exists (what sd_booted checks) and systemctl is on the PATH. */
        static Host probe(Map<String, String> env) {
            if (!Files.isDirectory(Path.of("/run/systemd/system"))) {
                return new Host(Optional.empty());
            }
            String path = env.getOrDefault("PATH", "/usr/bin:/bin");
            for (String dir : path.split(":")) {
                Path candidate = Path.of(dir.isEmpty() ? "." : dir, "systemctl");
                if (Files.isExecutable(candidate)) {
                    return new Host(Optional.of(candidate.toAbsolutePath()));
                }
            }
            return new Host(Optional.empty());
        }
    }

    /**
     * The launch {@value #ENV} asks for on this host.
     *
     * @throws IOException if the setting is not understood, or asks for systemd where it cannot be used
     */
    static BlkifdLaunch choose(Map<String, String> env, RunDirectory run, Host host) throws IOException {
        String setting = env.getOrDefault(ENV, "").trim().toLowerCase(Locale.ROOT);
        Optional<String> mismatch = unitMismatch(env, run);
        switch (setting) {
            case "direct":
                return DIRECT;
            case "", "auto":
                return host.systemctl().isPresent() && mismatch.isEmpty() ? SYSTEMD : DIRECT;
            case "systemd":
                if (host.systemctl().isEmpty()) {
                    throw new IOException(ENV + "=systemd, but systemd does not run on this host (no /run/systemd/system, "
                            + "or no systemctl on the PATH); set " + ENV + "=auto or direct in /etc/spdk-sr/spdk-sr.conf");
                }
                if (mismatch.isPresent()) {
                    throw new IOException(ENV + "=systemd, but the spdk-sr-blkifd@ unit would not run this blkifd: "
                            + mismatch.get() + ". Unset that, or set " + ENV + "=direct");
                }
                return SYSTEMD;
            default:
                throw new IOException(ENV + "='" + env.get(ENV) + "' is not systemd, direct or auto; fix it in "
                        + "/etc/spdk-sr/spdk-sr.conf (or the environment)");
        }
    }

    /** Why the spdk-sr-blkifd@ unit would run a different blkifd than this call would start, if it would. */
    static Optional<String> unitMismatch(Map<String, String> env, RunDirectory run) {
        if (!run.root().equals(Path.of(RunDirectory.DEFAULT_ROOT))) {
            return Optional.of("the run directory is " + run.root() + " ($" + RunDirectory.ENV + "), the unit's is "
                    + RunDirectory.DEFAULT_ROOT);
        }
        String xen = env.getOrDefault(XenAccessConfig.MODE_KEY, "");
        if (!xen.isBlank() && !xen.trim().equalsIgnoreCase("linux")) {
            return Optional.of(XenAccessConfig.MODE_KEY + " is '" + xen + "', the unit's is 'linux'");
        }
        String command = env.getOrDefault(BlkifdProcesses.COMMAND_ENV, "");
        if (!command.isBlank()) {
            return Optional.of("$" + BlkifdProcesses.COMMAND_ENV + " names the command " + command
                    + ", the unit runs " + SystemdBlkifd.LAUNCHER);
        }
        return Optional.empty();
    }
}
