package org.spdksr.volume.sr;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.spdksr.plugin.protocol.SmapiException;
import org.spdksr.plugin.protocol.StorageError;
import org.spdksr.volume.metadata.MetadataStore;
import org.spdksr.volume.metadata.SrRecord;
import org.spdksr.volume.store.SrSite;

/** Runs work on an SR while holding its lock, with its metadata open. */
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

    /** Work on an SR that must exist; fails with SR_does_not_exist otherwise. */
    public <T> T withSr(SrSite site, Work<T> work) throws Exception {
        return withSite(site, (s, metadata, existing) -> {
            SrRecord record = existing.orElseThrow(() -> noSr(site));
            return work.run(new OpenSr(site, record, metadata));
        });
    }

    /** Work on a site that may or may not hold an SR (SR.create, SR.probe). */
    public <T> T withSite(SrSite site, SiteWork<T> work) throws Exception {
        if (!Files.isDirectory(site.lockFile().getParent())) {
            throw noSr(site);
        }
        try (SrLock.Held held = lock.acquire(site.lockFile())) {
            boolean hadMetadata = Files.exists(site.metadataFile());
            // A back end may keep the metadata in a directory of its own, beside the lock (the spdk
            // back end's per-SR host directory): made on first use, removed again if only looked at.
            Path metadataDirectory = site.metadataFile().toAbsolutePath().getParent();
            boolean madeDirectory = !Files.isDirectory(metadataDirectory);
            if (madeDirectory) {
                Files.createDirectories(metadataDirectory);
            }
            try (MetadataStore metadata = MetadataStore.open(site.metadataFile())) {
                try {
                    return work.run(site, metadata, metadata.sr());
                } finally {
                    if (!hadMetadata && metadata.sr().isEmpty()) {
                        // Only looking must not leave an empty database behind.
                        metadata.close();
                        Files.deleteIfExists(site.metadataFile());
                        if (madeDirectory) {
                            deleteIfEmpty(metadataDirectory);
                        }
                    }
                }
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
