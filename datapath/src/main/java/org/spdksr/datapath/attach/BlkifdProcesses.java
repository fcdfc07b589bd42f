package org.spdksr.datapath.attach;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.blkifd.daemon.BlkifdMain;
import org.spdksr.datapath.blkifd.daemon.ControlClient;
import org.spdksr.datapath.blkifd.daemon.RunDirectory;

/**
 * Finds, starts and stops the blkifd of a domain. Callers hold the domain lock, so one command at
 * a time decides whether a blkifd runs. A blkifd that left its pid file and socket behind when it
 * died (SIGKILL, OOM) is detected by its socket not answering; the leftovers are removed and a new
 * one started, which recovers the disks from {@code state.json}. How it is started (systemd or a
 * detached child) is {@link BlkifdLaunch}'s choice; what decides "running" is always the socket.
 */
public final class BlkifdProcesses {
    private static final Logger LOG = LoggerFactory.getLogger(BlkifdProcesses.class);
    /** Overrides the blkifd command (a launcher path), e.g. to run it under a debugger. */
    public static final String COMMAND_ENV = "SPDK_SR_BLKIFD";
    private static final Duration PING = Duration.ofSeconds(5);
    private static final Duration START = Duration.ofSeconds(60);
    /** How long a blkifd that lives but does not answer yet (starting, or restarted after a kill) may take. */
    private static final Duration STARTING = Duration.ofSeconds(20);

    private final RunDirectory run;
    private final Map<String, String> env;

    public BlkifdProcesses(RunDirectory run, Map<String, String> env) {
        this.run = run;
        this.env = env;
    }

    /** The control client of the domain's blkifd if one is running and answers. */
    public Optional<ControlClient> running(String domain) {
        return answering(domain, true);
    }

    /**
     * The domain's blkifd if one runs, waiting for one that is restarting (its supervisor or
     * systemd started it again after a kill): a call that changes the domain's disks must reach it,
     * not act as if it were dead while it comes back and serves the old state.
     */
    public Optional<ControlClient> runningOrRestarting(String domain) throws IOException {
        Optional<ControlClient> live = answering(domain, false);
        return live.isPresent() ? live : awaitStarting(domain);
    }

    private Optional<ControlClient> answering(String domain, boolean sayWhyNot) {
        Path socket = run.controlSocket(domain);
        if (!Files.exists(socket)) {
            return Optional.empty();
        }
        ControlClient client = new ControlClient(socket);
        try {
            client.status(PING);
            return Optional.of(client);
        } catch (IOException e) {
            if (sayWhyNot) {
                LOG.warn("blkifd[{}]: {}", domain, e.getMessage());
            }
            return Optional.empty();
        }
    }

    /**
     * A blkifd that is alive but does not answer yet may be starting, or restarting after a kill
     * (its supervisor or systemd started it again, and it is taking the guest's rings over): it is
     * given time, so that it is neither killed as hung nor joined by a second one.
     */
    private Optional<ControlClient> awaitStarting(String domain) throws IOException {
        long deadline = System.nanoTime() + STARTING.toNanos();
        boolean waited = false;
        while ((pidOf(domain).isPresent() || supervisorOf(domain).isPresent()) && System.nanoTime() < deadline) {
            Optional<ControlClient> client = answering(domain, false);
            if (client.isPresent()) {
                if (waited) {
                    LOG.info("blkifd[{}]: answers again after a restart", domain);
                }
                return client;
            }
            waited = true;
            sleep(50);
        }
        return Optional.empty();
    }

    /**
     * Returns the running blkifd of the domain, starting one if none answers: through systemd or
     * as a detached child, as {@link BlkifdLaunch} decides.
     */
    public ControlClient ensureRunning(String domain) throws IOException {
        Optional<ControlClient> live = running(domain);
        if (live.isPresent()) {
            return live.get();
        }
        Optional<ControlClient> restarted = awaitStarting(domain);
        if (restarted.isPresent()) {
            return restarted.get();
        }
        cleanUpDead(domain);
        Files.createDirectories(run.domainDir(domain));
        BlkifdLaunch.Host host = BlkifdLaunch.Host.probe(env);
        BlkifdLaunch launch = BlkifdLaunch.choose(env, run, host);
        StartedBlkifd started = launch == BlkifdLaunch.SYSTEMD
                ? new SystemdBlkifd(host.systemctl().orElseThrow()).start(domain)
                : new DirectBlkifd(run, env).start(domain);
        long deadline = System.nanoTime() + START.toNanos();
        ControlClient client = new ControlClient(run.controlSocket(domain));
        while (System.nanoTime() < deadline) {
            Optional<String> ended = started.ended();
            if (ended.isPresent()) {
                throw new IOException("blkifd for domain '" + domain + "' " + ended.get());
            }
            if (Files.exists(run.controlSocket(domain))) {
                try {
                    client.status(PING);
                    return client;
                } catch (IOException e) {
                    // still binding
                }
            }
            sleep(50);
        }
        started.abandon();
        throw new IOException("blkifd for domain '" + domain + "' did not open its control socket within "
                + START.toSeconds() + " s; see " + started.whereToLook());
    }

    /** Stops the domain's blkifd (it flushes and closes every disk) and removes its runtime files. */
    public void stop(String domain) throws IOException {
        // A blkifd restarting after a kill is waited for: its supervisor would otherwise be waited
        // on while it starts blkifd again, then killed with it.
        Optional<ControlClient> live = runningOrRestarting(domain);
        Optional<ProcessHandle> process = pidOf(domain);
        if (live.isPresent()) {
            try {
                live.get().shutdown(PING);
            } catch (IOException e) {
                LOG.warn("blkifd[{}]: shutdown request failed: {}", domain, e.getMessage());
            }
        }
        process.ifPresent(ph -> {
            if (!exited(ph, START)) {
                LOG.warn("blkifd[{}]: pid {} did not stop within {} s of the shutdown request; killing it", domain,
                        ph.pid(), START.toSeconds());
                killSupervisor(domain); // or it would start blkifd again
                ph.destroyForcibly();
            }
        });
        // The supervisor ends with its blkifd's clean exit.
        supervisorOf(domain).ifPresent(ph -> awaitSupervisorExit(ph, domain));
        cleanUpDead(domain);
        stopUnit(domain);
        removeRingJournals(domain);
    }

    /** After the last detach no ring of the domain is to be taken over. */
    private void removeRingJournals(String domain) {
        Path dir = run.ringJournalDir(domain);
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        } catch (IOException e) {
            LOG.warn("blkifd[{}]: cannot remove the ring journals in {}: {}", domain, dir, e.toString());
        }
    }

    /** The supervisor shell of a directly started blkifd ({@link BlkifdSupervisor}), if it lives. */
    Optional<ProcessHandle> supervisorOf(String domain) {
        try {
            String text = Files.readString(run.supervisorPidFile(domain), StandardCharsets.US_ASCII).trim();
            return ProcessHandle.of(Long.parseLong(text)).filter(ProcessHandle::isAlive)
                    .filter(ph -> ph.info().arguments().map(a -> String.join(" ", a).contains("spdk-sr-blkifd-supervisor"))
                            .orElse(true));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private void killSupervisor(String domain) {
        supervisorOf(domain).ifPresent(ph -> {
            ph.destroyForcibly();
            awaitSupervisorExit(ph, domain);
        });
    }

    private static void awaitSupervisorExit(ProcessHandle ph, String domain) {
        if (!exited(ph, Duration.ofSeconds(10))) {
            LOG.warn("blkifd[{}]: supervisor pid {} did not exit", domain, ph.pid());
        }
    }

    /**
     * Polled: ProcessHandle.onExit of a process that is not our child only notices the exit
     * coarsely (seconds), and VM shutdown waits for this call.
     */
    private static boolean exited(ProcessHandle ph, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (ph.isAlive() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return !ph.isAlive();
    }

    /**
     * With systemd, also stops the domain's unit, so that none is left active or activating (a
     * blkifd that exited after the shutdown request leaves it inactive already). Never throws:
     * Datapath.detach should never fail (smapiv3.md §4.6).
     */
    private void stopUnit(String domain) {
        BlkifdLaunch.Host host = BlkifdLaunch.Host.probe(env);
        try {
            if (BlkifdLaunch.choose(env, run, host) == BlkifdLaunch.SYSTEMD) {
                new SystemdBlkifd(host.systemctl().orElseThrow()).stop(domain);
            }
        } catch (IOException e) {
            LOG.warn("blkifd[{}]: {}", domain, e.getMessage());
        }
    }

    /** The blkifd process named by the pid file, if it is alive and is a blkifd (pids are reused). */
    public Optional<ProcessHandle> pidOf(String domain) {
        try {
            String text = Files.readString(run.pidFile(domain), StandardCharsets.US_ASCII).trim();
            return ProcessHandle.of(Long.parseLong(text)).filter(ProcessHandle::isAlive)
                    .filter(ph -> ph.info().commandLine().map(c -> c.contains(BlkifdMain.class.getName())).orElse(true));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    /** Removes the pid file, socket and NBD sockets of a blkifd that no longer answers (killing a hung one). */
    private void cleanUpDead(String domain) {
        killSupervisor(domain);
        pidOf(domain).ifPresent(ph -> {
            LOG.warn("blkifd[{}]: pid {} is alive but its control socket does not answer; killing it", domain, ph.pid());
            ph.destroyForcibly();
            try {
                ph.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception e) {
                LOG.warn("blkifd[{}]: pid {} did not die: {}", domain, ph.pid(), e.toString());
            }
        });
        try {
            Files.deleteIfExists(run.pidFile(domain));
            Files.deleteIfExists(run.supervisorPidFile(domain));
            Files.deleteIfExists(run.controlSocket(domain));
            if (Files.isDirectory(run.domainDir(domain))) {
                try (Stream<Path> files = Files.list(run.domainDir(domain))) {
                    for (Path f : files.filter(f -> f.getFileName().toString().endsWith(".nbd")).toList()) {
                        Files.deleteIfExists(f);
                    }
                }
            }
        } catch (IOException e) {
            LOG.warn("blkifd[{}]: cannot remove stale runtime files: {}", domain, e.toString());
        }
    }

    private static void sleep(long ms) throws IOException {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for blkifd", e);
        }
    }
}
