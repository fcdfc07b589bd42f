package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * xapi-storage-script runs datapath calls in parallel (smapiv3.md §3.1): ten domains attach,
 * activate, deactivate and detach at once, each starting and stopping its own blkifd; one of
 * them also sends every call twice at the same time, as a retrying xapi could.
 */
@Timeout(300)
class ParallelDomainsTest {
    @TempDir
    Path base;

    @Test
    void tenDomainsAttachAndDetachInParallel() throws Exception {
        try (DatapathLab lab = new DatapathLab(base)) {
            Xapi.CreatedSr sr = lab.newSr("parallel");
            ExecutorService pool = Executors.newFixedThreadPool(11);
            try {
                List<Future<String>> created = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    int n = i;
                    created.add(pool.submit(() -> lab.xapi.datapathUri(sr.sr(),
                            lab.xapi.vdiCreate(sr.sr(), "vm" + n, 8L << 20).key())));
                }
                List<String> uris = new ArrayList<>();
                for (Future<String> f : created) {
                    uris.add(f.get(120, TimeUnit.SECONDS));
                }
                List<Future<?>> runs = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    String domain = Integer.toString(40 + i);
                    String uri = uris.get(i);
                    runs.add(pool.submit(() -> {
                        lab.xapi.vdiAttach(uri, domain);
                        lab.xapi.vdiActivate(uri, domain);
                        lab.xapi.vdiDeactivate(uri, domain);
                        lab.xapi.vdiDetach(uri, domain);
                        return null;
                    }));
                }
                String twiceUri = uris.get(0);
                runs.add(pool.submit(() -> {
                    lab.xapi.vdiAttach(twiceUri, "40");
                    lab.xapi.vdiActivate(twiceUri, "40");
                    lab.xapi.vdiDeactivate(twiceUri, "40");
                    lab.xapi.vdiDetach(twiceUri, "40");
                    return null;
                }));
                for (Future<?> f : runs) {
                    f.get(240, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            for (int i = 0; i < 10; i++) {
                String domain = Integer.toString(40 + i);
                assertThat(lab.blkifd(domain)).as("blkifd of domain %s after its last detach", domain).isEmpty();
                assertThat(Files.exists(lab.domainDir(domain).resolve("state.json"))).isFalse();
                assertThat(Files.exists(lab.domainDir(domain).resolve("control.sock"))).isFalse();
            }
            try (Stream<Path> records = Files.list(lab.runDir.resolve("volumes"))) {
                assertThat(records.filter(p -> p.toString().endsWith(".json")).toList())
                        .as("no activation record is left").isEmpty();
            }
        }
    }
}
