package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.spdksr.datapath.sim.blkfront.FrontOptions;
import org.spdksr.datapath.sim.blkfront.LoadGenerator;
import org.spdksr.datapath.sim.blkfront.LoadReport;
import org.spdksr.datapath.sim.blkfront.LoadSpec;
import org.spdksr.datapath.sim.blkfront.SimGuest;

/**
 * Figures for the notes, printed and never asserted on (timing depends on the machine): the time
 * from Datapath.attach to the guest's frontend reaching Connected, and the PSS of one blkifd
 * serving one and then four disks after each has carried some load.
 */
@Timeout(300)
class DatapathFiguresTest {
    private static final long DISK = 64L << 20;

    @TempDir
    Path base;

    @Test
    void attachToConnectedAndBlkifdMemory() throws Exception {
        try (DatapathLab lab = new DatapathLab(base)) {
            Xapi.CreatedSr sr = lab.newSr("figures");
            SimGuest guest = lab.guest(31);
            List<DatapathLab.StartedDisk> disks = new ArrayList<>();
            List<Long> pss = new ArrayList<>();
            String[] names = {"xvda", "xvdb", "xvdc", "xvdd"};
            for (int i = 0; i < 4; i++) {
                String uri = lab.xapi.datapathUri(sr.sr(), lab.xapi.vdiCreate(sr.sr(), names[i], DISK).key());
                DatapathLab.StartedDisk d = lab.startDisk(guest, uri, names[i], FrontOptions.defaults());
                disks.add(d);
                LoadReport r = new LoadGenerator(d.front(), LoadSpec.mixed(16, 600, (int) (DISK / 512), i)).run();
                assertThat(r.problems()).isEmpty();
                long pid = lab.blkifd("31").orElseThrow().pid();
                pss.add(DatapathLab.pssKib(pid));
                java.util.Map<String, Long> smaps = DatapathLab.smapsRollup(pid);
                System.out.printf("MEASURE disk %d: attach->Connected %d ms; blkifd PSS %d KiB (anon %s, file %s, "
                        + "shmem %s; RSS %s) after %d requests%n", i + 1, d.attachToConnectedMillis(), pss.get(i),
                        smaps.get("Pss_Anon"), smaps.get("Pss_File"), smaps.get("Pss_Shmem"), smaps.get("Rss"),
                        r.requests());
            }
            System.out.printf("MEASURE blkifd PSS: one disk %d KiB, four disks %d KiB%n", pss.get(0), pss.get(3));
            for (DatapathLab.StartedDisk d : disks) {
                lab.stopDisk(d, "31");
            }
        }
    }
}
