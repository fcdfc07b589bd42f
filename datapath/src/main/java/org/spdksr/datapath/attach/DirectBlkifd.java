package org.spdksr.datapath.attach;

import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.blkifd.daemon.BlkifdMain;
import org.spdksr.datapath.blkifd.daemon.RunDirectory;

/**
 * Starts a domain's blkifd as a detached child of the calling command, in a session of its own,
 * under {@link BlkifdSupervisor} (which restarts it if it is killed), its output in the domain's
 * {@code blkifd.log}: the launch without systemd (hosts without it, the demo, the tests). The
 * installed launcher if there is one, else this JVM's class path.
 */
final class DirectBlkifd {
    private static final Logger LOG = LoggerFactory.getLogger(DirectBlkifd.class);

    private final RunDirectory run;
    private final Map<String, String> env;

    DirectBlkifd(RunDirectory run, Map<String, String> env) {
        this.run = run;
        this.env = env;
    }

    StartedBlkifd start(String domain) throws IOException {
        List<String> blkifd = new ArrayList<>(blkifdCommand());
        blkifd.addAll(List.of("--domain", domain, "--run-dir", run.root().toString()));
        List<String> command = new ArrayList<>();
        // A session of its own: the command's process group may be signalled when it ends.
        if (Files.isExecutable(Path.of("/usr/bin/setsid"))) {
            command.add("/usr/bin/setsid");
        }
        command.addAll(BlkifdSupervisor.wrap(run.supervisorPidFile(domain), env, blkifd));
        ProcessBuilder pb = new ProcessBuilder(command);
        pb.environment().clear();
        pb.environment().putAll(env);
        File log = run.logFile(domain).toFile();
        // Nothing may hold the command's stdout: xapi-storage-script reads it to EOF (§3.1).
        pb.redirectInput(new File("/dev/null"));
        pb.redirectOutput(ProcessBuilder.Redirect.appendTo(log));
        pb.redirectError(ProcessBuilder.Redirect.appendTo(log));
        Process p = pb.start();
        LOG.info("blkifd[{}]: started under its supervisor, pid {}", domain, p.pid());
        return new StartedBlkifd() {
            @Override
            public Optional<String> ended() {
                return p.isAlive() ? Optional.empty()
                        : Optional.of("exited with status " + p.exitValue() + " at start: " + tail(run.logFile(domain)));
            }

            @Override
            public String whereToLook() {
                return run.logFile(domain).toString();
            }

            @Override
            public void abandon() {
                p.destroyForcibly(); // the supervisor first, so that it starts nothing again
                new BlkifdProcesses(run, env).pidOf(domain).ifPresent(ProcessHandle::destroyForcibly);
            }
        };
    }

    private List<String> blkifdCommand() {
        List<String> prefix = new ArrayList<>();
        String configured = env.get(BlkifdProcesses.COMMAND_ENV);
        if (configured != null && !configured.isBlank()) {
            prefix.add(configured);
            return prefix;
        }
        Optional<Path> launcher = stagedLauncher();
        if (launcher.isPresent()) {
            prefix.add(launcher.get().toString());
            return prefix;
        }
        // Not installed (unit tests): the same JVM and class path.
        prefix.add(ProcessHandle.current().info().command().orElse("java"));
        prefix.addAll(List.of("-Xss512k", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                BlkifdMain.class.getName()));
        return prefix;
    }

    /** {@code <root>/usr/libexec/spdk-sr/spdk-sr-blkifd} beside {@code <root>/usr/share/spdk-sr/lib/<jar>}. */
    private static Optional<Path> stagedLauncher() {
        try {
            Path jar = Path.of(BlkifdMain.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path lib = jar.getParent();
            if (lib == null || !lib.endsWith(Path.of("usr/share/spdk-sr/lib"))) {
                return Optional.empty();
            }
            Path launcher = lib.getParent().getParent().getParent().resolve("libexec/spdk-sr/spdk-sr-blkifd");
            return Files.isExecutable(launcher) ? Optional.of(launcher) : Optional.empty();
        } catch (URISyntaxException | RuntimeException e) {
            return Optional.empty();
        }
    }

    private static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 5), lines.size()));
        } catch (IOException e) {
            return "(no log at " + log + ")";
        }
    }
}
