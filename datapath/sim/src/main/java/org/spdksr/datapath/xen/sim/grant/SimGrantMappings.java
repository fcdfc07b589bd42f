package org.spdksr.datapath.xen.sim.grant;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.xen.grant.GrantRef;
import org.spdksr.datapath.xen.sim.SimLayout;

/**
 * The live grant mappings of a simulated host, as any process can count them: each mapping of a
 * domain's grants is one file {@code root/grant-mappings/<domid>/<pid>-<start>-<unique>}, created
 * before the pages are mapped and deleted after they are unmapped, so a count never misses a
 * mapping that exists. The file of a process that is gone (killed with SIGKILL, say) does not
 * count: on Linux, gntdev releases a process's mappings when its file is closed at exit, so on real
 * Xen those mappings are gone too. This is what lets a test ask "is any page of this guest still
 * mapped?" at the moment a backend says Closed (blkif.md §5.7), whatever process the backend is.
 */
public final class SimGrantMappings {
    private static final Logger LOG = LoggerFactory.getLogger(SimGrantMappings.class);

    private final SimLayout layout;
    /** {@code <pid>-<start>-}: the start time tells this process from a later one given the same pid. */
    private final String ownerPrefix;

    public SimGrantMappings(SimLayout layout) {
        this.layout = layout;
        ProcessHandle self = ProcessHandle.current();
        this.ownerPrefix = self.pid() + "-" + startMillis(self).orElse(0L) + "-";
    }

    /** One live mapping of one domain's grants; {@link #close()} deletes its file. */
    public final class Registration implements AutoCloseable {
        private final Path file;
        private final AtomicBoolean closed = new AtomicBoolean();

        private Registration(Path file) {
            this.file = file;
        }

        /** Called after the pages are unmapped, never before. */
        @Override
        public void close() {
            if (!closed.compareAndSet(false, true)) {
                return;
            }
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                // The mapping is gone but still counted: a test would report it; say why here.
                LOG.warn("unmapped, but cannot delete the mapping record {}: {}", file, e.toString());
            }
        }
    }

    /** Records a mapping of {@code refs} (all of {@code domid}) about to be made. */
    Registration register(int domid, List<GrantRef> refs, boolean writable) throws IOException {
        Path dir = Files.createDirectories(layout.grantMappingsDir(domid));
        Path file = Files.createTempFile(dir, ownerPrefix, "");
        List<Integer> grefs = refs.stream().filter(r -> r.domid() == domid).map(GrantRef::ref).toList();
        Files.writeString(file, "grants " + grefs + (writable ? " read-write" : " read-only") + ", mapped by pid "
                + ProcessHandle.current().pid() + " on thread " + Thread.currentThread().getName());
        return new Registration(file);
    }

    /** How many mappings of {@code domid}'s grants live processes hold. */
    public static int liveCount(SimLayout layout, int domid) {
        return live(layout, domid).size();
    }

    /** What each live mapping of {@code domid}'s grants is and who holds it, for a failure message. */
    public static List<String> live(SimLayout layout, int domid) {
        Path dir = layout.grantMappingsDir(domid);
        List<String> out = new ArrayList<>();
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path f : files) {
                if (!ownerAlive(f.getFileName().toString())) {
                    continue;
                }
                try {
                    out.add(Files.readString(f, StandardCharsets.UTF_8));
                } catch (NoSuchFileException e) {
                    // unmapped while we looked
                }
            }
        } catch (NoSuchFileException e) {
            return List.of(); // nothing of this domain was ever mapped
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the grant mappings of domain " + domid + " in " + dir, e);
        }
        return out;
    }

    private static boolean ownerAlive(String name) {
        String[] parts = name.split("-", 3);
        if (parts.length < 3) {
            return true; // not ours to judge: count it, so nothing is hidden
        }
        try {
            long pid = Long.parseLong(parts[0]);
            long start = Long.parseLong(parts[1]);
            Optional<ProcessHandle> p = ProcessHandle.of(pid).filter(ProcessHandle::isAlive);
            if (p.isEmpty() || zombie(pid)) {
                return false;
            }
            Optional<Long> actual = startMillis(p.get());
            return start == 0 || actual.isEmpty() || actual.get() == start;
        } catch (NumberFormatException e) {
            return true;
        }
    }

    /** An exited process not yet reaped by its parent: its files, and so its gntdev mappings, are closed. */
    private static boolean zombie(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            int end = stat.lastIndexOf(')'); // the command name may hold spaces and parentheses
            return end > 0 && end + 2 < stat.length() && stat.charAt(end + 2) == 'Z';
        } catch (IOException e) {
            return false;
        }
    }

    private static Optional<Long> startMillis(ProcessHandle p) {
        return p.info().startInstant().map(java.time.Instant::toEpochMilli);
    }
}
