package org.spdksr.datapath.attach;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.blkifd.daemon.RunDirectory;

/**
 * Starts and stops a domain's blkifd as the systemd unit {@code spdk-sr-blkifd@<instance>.service}
 * (packaging/systemd/spdk-sr-blkifd@.service), so that it runs in vm.slice (xcp-ng-host.md §1.4).
 * The instance is the domain's run-directory name ({@link RunDirectory#domainDirName}: a domain
 * may be "", an instance may not), escaped as systemd-escape does; the unit hands it back to
 * blkifd unescaped ({@code %I}) as {@code --instance}.
 */
final class SystemdBlkifd {
    private static final Logger LOG = LoggerFactory.getLogger(SystemdBlkifd.class);
    static final String TEMPLATE = "spdk-sr-blkifd@";
    /** The launcher the unit's ExecStart runs. */
    static final String LAUNCHER = "/usr/libexec/spdk-sr/spdk-sr-blkifd";
    private static final Duration SYSTEMCTL = Duration.ofSeconds(90);
    private static final Duration POLL = Duration.ofMillis(500);
    private static final Set<String> ALIVE = Set.of("active", "activating", "reloading");

    private final Path systemctl;

    SystemdBlkifd(Path systemctl) {
        this.systemctl = systemctl;
    }

    /** {@code spdk-sr-blkifd@<escaped directory name of the domain>.service}. */
    static String unitName(String domain) {
        return TEMPLATE + escape(RunDirectory.domainDirName(domain)) + ".service";
    }

    /**
     * systemd-escape's rules for a string in a unit name (systemd.unit(5), "String Escaping"):
     * "/" becomes "-", and every byte that is not an ASCII letter, digit, ":", "_" or "." (and a
     * leading ".") becomes {@code \xNN}, so "-" itself is escaped.
     */
    static String escape(String text) {
        StringBuilder out = new StringBuilder();
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i < bytes.length; i++) {
            int b = bytes[i] & 0xff;
            boolean plain = (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
                    || b == ':' || b == '_' || (b == '.' && i > 0);
            if (b == '/') {
                out.append('-');
            } else if (plain) {
                out.append((char) b);
            } else {
                out.append(String.format("\\x%02x", b));
            }
        }
        return out.toString();
    }

    /** The command line of one systemctl verb on the domain's unit. */
    List<String> command(String verb, String domain) {
        return List.of(systemctl.toString(), verb, unitName(domain));
    }

    /**
     * {@code systemctl stop}, then {@code start}; the unit's process then starts blkifd, which opens
     * its control socket. The caller found no blkifd answering: a unit still active then holds one
     * that hangs (before it wrote its pid file, say), and a start alone would be a no-op.
     */
    StartedBlkifd start(String domain) throws IOException {
        String unit = unitName(domain);
        stop(domain);
        Result r = run(command("start", domain));
        if (r.exit() != 0) {
            throw new IOException("systemctl start " + unit + " (blkifd for domain '" + domain + "') failed with status "
                    + r.exit() + ": " + r.output().strip() + "; see: journalctl -u '" + unit + "'");
        }
        LOG.info("blkifd[{}]: started as {}", domain, unit);
        return new Started(domain, unit);
    }

    /** {@code systemctl stop}, after blkifd was asked to shut down: nothing of the unit is left. Never throws. */
    void stop(String domain) {
        try {
            Result r = run(command("stop", domain));
            if (r.exit() != 0) {
                LOG.warn("blkifd[{}]: systemctl stop {} failed with status {}: {}", domain, unitName(domain), r.exit(),
                        r.output().strip());
            }
        } catch (IOException e) {
            LOG.warn("blkifd[{}]: systemctl stop {}: {}", domain, unitName(domain), e.getMessage());
        }
    }

    private final class Started implements StartedBlkifd {
        private final String domain;
        private final String unit;
        private long nextCheck;

        Started(String domain, String unit) {
            this.domain = domain;
            this.unit = unit;
        }

        @Override
        public Optional<String> ended() throws IOException {
            // A systemctl run costs a fork and a D-Bus round trip: not at every 50 ms poll.
            if (System.nanoTime() < nextCheck) {
                return Optional.empty();
            }
            nextCheck = System.nanoTime() + POLL.toNanos();
            String state = run(command("is-active", domain)).output().strip();
            return ALIVE.contains(state) ? Optional.empty()
                    : Optional.of("stopped at start (unit " + unit + " is " + state + "); see: " + whereToLook());
        }

        @Override
        public String whereToLook() {
            return "journalctl -u '" + unit + "'";
        }

        @Override
        public void abandon() {
            stop(domain);
        }
    }

    private record Result(int exit, String output) {
    }

    private static Result run(List<String> command) throws IOException {
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
        // Nothing may hold the SMAPIv3 command's stdin/stdout (smapiv3.md §3.1).
        pb.redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Process p = pb.start();
        try {
            if (!p.waitFor(SYSTEMCTL.toSeconds(), TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " did not finish within " + SYSTEMCTL.toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            p.destroyForcibly();
            throw new IOException("interrupted while running " + String.join(" ", command), e);
        }
        // systemctl says a line or two: far below a pipe's buffer, so reading after the exit cannot block it.
        return new Result(p.exitValue(), new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
    }
}
