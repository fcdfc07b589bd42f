package org.spdksr.datapath.blkifd.daemon;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.spdksr.datapath.blkifd.BufferReport;
import org.spdksr.datapath.blkifd.QueueCounters;
import org.spdksr.datapath.blkifd.VbdReport;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code spdk-sr status}: every running blkifd, its domain, disks and per-disk counters, and its
 * request buffer memory (budget, use, waits), read from the control sockets (like {@code tap-ctl list} and {@code tap-ctl stats}). {@code --json} prints
 * the same as one JSON array for scripts.
 */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "List every running blkifd with its disks and their counters.")
public final class StatusCommand implements Callable<Integer> {
    @Option(names = "--json", description = "Print JSON (an array with one object per blkifd).")
    boolean json;

    @Option(names = "--run-dir", description = "blkifd run directory (default: $SPDK_SR_RUN_DIR or "
            + RunDirectory.DEFAULT_ROOT + ").")
    Path runDir;

    private final PrintStream out;

    public StatusCommand() {
        this(System.out);
    }

    StatusCommand(PrintStream out) {
        this.out = out;
    }

    /** A blkifd entry: its answer, or why it did not answer. */
    public record Entry(String directory, DaemonStatus status, String problem) {}

    @Override
    public Integer call() throws IOException {
        RunDirectory run = runDir != null ? new RunDirectory(runDir.toAbsolutePath()) : RunDirectory.from(System.getenv());
        List<Entry> entries = collect(run);
        if (json) {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(entries));
        } else {
            print(entries);
        }
        return entries.stream().anyMatch(e -> e.problem() != null) ? 1 : 0;
    }

    public static List<Entry> collect(RunDirectory run) throws IOException {
        List<Entry> entries = new ArrayList<>();
        if (!Files.isDirectory(run.root())) {
            return entries;
        }
        try (Stream<Path> dirs = Files.list(run.root())) {
            for (Path dir : dirs.filter(Files::isDirectory).sorted().toList()) {
                Path socket = dir.resolve("control.sock");
                if (!Files.exists(socket)) {
                    continue;
                }
                try {
                    entries.add(new Entry(dir.getFileName().toString(),
                            new ControlClient(socket).status(Duration.ofSeconds(5)), null));
                } catch (IOException e) {
                    entries.add(new Entry(dir.getFileName().toString(), null,
                            e.getMessage() + " (a dead blkifd: the next attach for this domain restarts it)"));
                }
            }
        }
        return entries;
    }

    private void print(List<Entry> entries) {
        if (entries.isEmpty()) {
            out.println("no blkifd is running");
            return;
        }
        // ERRORS: requests that failed on the device or in a grant copy; REJECTED: requests refused
        // as malformed before any I/O (a guest bug or attack, each answered with an error).
        out.printf(Locale.ROOT, "%-14s %-8s %-18s %-8s %-6s %-5s %-6s %-10s %9s %9s %9s %9s %8s %8s %6s %8s  %s%n",
                "DOMAIN", "PID", "DISK", "STATE", "DEV", "ORDER", "QUEUES", "FRONTEND", "READS", "WRITES", "FLUSHES",
                "DISCARDS", "MiB_RD", "MiB_WR", "ERRORS", "REJECTED", "VOLUME");
        for (Entry e : entries) {
            if (e.status() == null) {
                out.printf(Locale.ROOT, "%-14s %-8s %s%n", e.directory(), "-", e.problem());
                continue;
            }
            DaemonStatus s = e.status();
            String domain = s.domain().isEmpty() ? "\"\"" : s.domain();
            if (s.disks().isEmpty()) {
                out.printf(Locale.ROOT, "%-14s %-8d (no disks)%n", domain, s.pid());
            }
            for (DaemonStatus.DiskStatus d : s.disks()) {
                String state = d.state() + (d.readOnly() ? ",ro" : "") + (d.nonPersistent() ? ",np" : "");
                String volume = d.volume() + (d.error().isEmpty() ? "" : "  error: " + d.error());
                if (d.vbds().isEmpty()) {
                    out.printf(Locale.ROOT,
                            "%-14s %-8d %-18s %-8s %-6s %-5s %-6s %-10s %9s %9s %9s %9s %8s %8s %6s %8s  %s%n",
                            domain, s.pid(), d.id(), state, "-", "-", "-", d.nbdUri().isEmpty() ? "-" : "nbd", "-", "-",
                            "-", "-", "-", "-", "-", "-", volume);
                }
                for (VbdReport v : d.vbds()) {
                    QueueCounters.Snapshot c = v.counters();
                    String dev = v.name().substring(v.name().lastIndexOf('/') + 1);
                    out.printf(Locale.ROOT,
                            "%-14s %-8d %-18s %-8s %-6s %-5s %-6d %-10s %9d %9d %9d %9d %8.1f %8.1f %6d %8d  %s%n",
                            domain, s.pid(), d.id(), state, dev, v.ringOrder() < 0 ? "-" : Integer.toString(v.ringOrder()),
                            v.queues(), v.state().toLowerCase(Locale.ROOT) + (v.persistentGrants() ? ",pg" : ""),
                            c.reads(), c.writes(), c.flushes(), c.discards(), c.bytesRead() / 1048576.0,
                            c.bytesWritten() / 1048576.0, c.errors(), c.rejected(), volume);
                }
            }
            BufferReport b = s.buffers();
            if (b != null) {
                out.printf(Locale.ROOT, "%-14s %-8d buffer memory: %.1f of %.1f MiB in use, %.1f MiB pooled, peak %.1f MiB;"
                        + " rings waited for memory %d times%n", domain, s.pid(), b.inUseBytes() / 1048576.0,
                        b.limitBytes() / 1048576.0, b.pooledBytes() / 1048576.0, b.peakBytes() / 1048576.0, b.waits());
            }
        }
    }

    /** The operator command {@code spdk-sr}; {@code status} is its one subcommand today. */
    @Command(name = "spdk-sr", mixinStandardHelpOptions = true, subcommands = StatusCommand.class,
            description = "spdk-sr operator commands.")
    public static final class Top implements Callable<Integer> {
        @Override
        public Integer call() {
            new CommandLine(this).usage(System.out);
            return 2;
        }
    }

    public static void main(String[] args) {
        System.exit(new CommandLine(new Top()).execute(args));
    }

}
