package org.spdksr.volume.sr;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.Callable;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;
import org.spdksr.volume.metadata.MetadataStore;
import org.spdksr.volume.metadata.SrRecord;
import org.spdksr.volume.store.SrSite;

/**
 * Runs work on an SR while holding its lock, with its metadata open.
 *
 * <p>Nothing is created on a site that holds no SR unless the work is to make one (issue 19: a
 * call on a directory that is not an SR, or on a destroyed SR, used to leave the lock file
 * there). The lock file lives exactly as long as the metadata file: whoever holds the lock and
 * finds no metadata afterwards unlinks it, which also clears one an interrupted SR.destroy left.
 */
public final class SrAccess {
    private final SrLock lock;

    public SrAccess(SrLock lock) {
        this.lock = lock;
    }

    @FunctionalInterface
    public interface Work<T> {
        T run(OpenSr sr) throws Exception;
    }

    @FunctionalInterface
    public interface SiteWork<T> {
        /** @param existing the SR's record, or empty if the site holds no SR yet */
        T run(SrSite site, MetadataStore metadata, Optional<SrRecord> existing) throws Exception;
    }

    /** Work on an SR that must exist; fails with SR_does_not_exist otherwise, creating nothing. */
    public <T> T withSr(SrSite site, Work<T> work) throws Exception {
        return withExistingSite(site, (s, metadata, existing) -> {
            SrRecord record = existing.orElseThrow(() -> noSr(site));
            return work.run(new OpenSr(site, record, metadata));
        }, () -> {
            throw noSr(site);
        });
    }

    /**
     * Work on a site whose metadata file exists (SR.destroy, SR.detach, SR.probe); {@code absent}
     * runs instead, creating nothing, when it does not.
     */
    public <T> T withExistingSite(SrSite site, SiteWork<T> work, Callable<T> absent) throws Exception {
        if (!Files.isDirectory(site.lockFile().getParent())) {
            return absent.call();
        }
        Optional<SrLock.Held> held = lock.acquire(site.lockFile(), Files.exists(site.metadataFile()));
        if (held.isEmpty()) {
            return absent.call();
        }
        boolean present;
        try (SrLock.Held h = held.get()) {
            present = Files.exists(site.metadataFile());
            if (present) {
                return underLock(site, work);
            }
            Files.deleteIfExists(site.lockFile());
        }
        return absent.call();
    }

    /** Work on a site that may or may not hold an SR: SR.create, or adopting an SR the device records. */
    public <T> T withSite(SrSite site, SiteWork<T> work) throws Exception {
        if (!Files.isDirectory(site.lockFile().getParent())) {
            throw noSr(site);
        }
        try (SrLock.Held held = lock.acquire(site.lockFile(), true).orElseThrow()) {
            return underLock(site, work);
        }
    }

    private static <T> T underLock(SrSite site, SiteWork<T> work) throws Exception {
        try {
            // A back end may keep the metadata in a directory of its own, beside the lock (the spdk
            // back end's per-SR host state directory): made on first use, removed again if only looked at.
            Path metadataDirectory = site.metadataFile().toAbsolutePath().getParent();
            boolean madeDirectory = !Files.isDirectory(metadataDirectory);
            if (madeDirectory) {
                Files.createDirectories(metadataDirectory);
            }
            try (MetadataStore metadata = MetadataStore.open(site.metadataFile())) {
                try {
                    return work.run(site, metadata, metadata.sr());
                } finally {
                    if (metadata.sr().isEmpty()) {
                        // Only looking must not leave an empty database behind, nor may an
                        // SR.create that failed or was killed before it recorded the SR.
                        metadata.close();
                        Files.deleteIfExists(site.metadataFile());
                        Files.deleteIfExists(Path.of(site.metadataFile() + "-journal"));
                        site.forgetUnrecorded();
                        if (madeDirectory) {
                            deleteIfEmpty(metadataDirectory);
                        }
                    }
                }
            }
        } finally {
            // Still under the lock: no SR (none made, or it was destroyed), no lock file.
            if (!Files.exists(site.metadataFile())) {
                Files.deleteIfExists(site.lockFile());
            }
        }
    }

    private static void deleteIfEmpty(Path directory) throws java.io.IOException {
        try (var entries = Files.list(directory)) {
            if (entries.findAny().isEmpty()) {
                Files.deleteIfExists(directory);
            }
        }
    }

    static SmapiException noSr(SrSite site) {
        return new SmapiException(new StorageError.SrDoesNotExist(site.handle()),
                "There is no spdk-sr SR in " + site.describe() + ". Check that the right device is mounted and "
                        + "that the PBD's device-config points at it; to make a new SR use xe sr-create.");
    }
}
