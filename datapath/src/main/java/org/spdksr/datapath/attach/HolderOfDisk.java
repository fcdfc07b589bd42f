package org.spdksr.datapath.attach;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.spdksr.datapath.blkifd.daemon.DiskEntry;
import org.spdksr.datapath.blkifd.daemon.DomainState;
import org.spdksr.datapath.blkifd.daemon.RunDirectory;

/**
 * The domain a {@code Datapath.deactivate} or {@code detach} with the domain {@code ""} is about.
 * xenopsd sends {@code ""} when the guest is already gone (issue 15), and the call must still
 * release what the guest held, or the volume stays claimed and the next VM that activates it
 * read-write is refused. {@code ""} is also a domain of its own (an older dom0 attachment,
 * smapiv3.md §4.6), so it means itself when it holds the disk; otherwise it means the one domain
 * that holds it: the read-write claimant in the volume's record, else the only domain whose
 * state has the disk. With several candidates nothing is guessed.
 */
final class HolderOfDisk {
    private final RunDirectory run;

    HolderOfDisk(RunDirectory run) {
        this.run = run;
    }

    /**
     * @param holds what "holding" means for the call: an active entry for deactivate, any entry for detach
     * @param readWriteClaimant the volume record's read-write domain, or null
     */
    String resolve(String domain, String diskId, Predicate<DiskEntry> holds, String readWriteClaimant) throws IOException {
        if (!domain.isEmpty() || holdsIt("", diskId, holds)) {
            return domain;
        }
        if (readWriteClaimant != null) {
            return readWriteClaimant;
        }
        List<String> holders = new ArrayList<>();
        for (String other : domains()) {
            if (holdsIt(other, diskId, holds)) {
                holders.add(other);
            }
        }
        return holders.size() == 1 ? holders.get(0) : domain;
    }

    private boolean holdsIt(String domain, String diskId, Predicate<DiskEntry> holds) throws IOException {
        DiskEntry entry = DomainState.read(run.stateFile(domain), domain).disks().get(diskId);
        return entry != null && holds.test(entry);
    }

    /** Every domain with a directory under the run root. */
    private List<String> domains() throws IOException {
        if (!Files.isDirectory(run.root())) {
            return List.of();
        }
        List<String> domains = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(run.root())) {
            for (Path dir : dirs.filter(Files::isDirectory).toList()) {
                try {
                    domains.add(RunDirectory.domainOfDirName(dir.getFileName().toString()));
                } catch (IllegalArgumentException e) {
                    // not a domain's directory (volumes/)
                }
            }
        }
        return domains;
    }
}
