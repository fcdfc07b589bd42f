package org.spdksr.xenstage;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.spdksr.datapath.sim.xenopsd.SimXenopsd;
import org.spdksr.datapath.sim.xenopsd.Vbd;
import org.spdksr.datapath.sim.xenopsd.VbdSpec;
import org.spdksr.datapath.xen.xenstore.Xenstore;

/**
 * The product path on real Xen: nothing of blkifd runs in this process. The RPM's entry points
 * make a file SR and a volume and attach and activate it for the guest's domain exactly as
 * xapi-storage-script would (smapiv3.md §6: VM start, per disk); {@code Datapath.attach} starts
 * blkifd in {@code direct} mode on the Linux Xen access layer; this process then only plays
 * xenopsd, writing the VBD from the attach result. Between the guest's steps (guest-init.sh,
 * {@code product}) it kills blkifd in the middle of the guest's writes, reads the disk over the
 * NBD export of a dom0 attachment, and reboots the disk three times through deactivate/detach and
 * attach/activate, checking that blkifd leaves no grant mapping behind.
 */
final class ProductRound {
    private static final String DISK = "xvda";
    private static final long VOLUME_BYTES = 64L << 20;
    /** What the guest writes and checks: its first 48 MiB (guest-init.sh, product). */
    private static final long CHECKED_BYTES = 48L << 20;
    private static final Path RUN = Path.of("/run/spdk-sr/blkifd");
    private static final Duration STEP = Duration.ofSeconds(120);
    private static final int REBOOTS = 3;

    private final int domid;
    private final Xenstore xs;
    private final SimXenopsd xenopsd;
    private final GuestChannel guest;
    private final EntryPoints smapi;
    private final GrantTable grants;
    private final String domain;
    private final List<String> figures;

    ProductRound(int domid, Xenstore xs, SimXenopsd xenopsd, GuestChannel guest, EntryPoints smapi, List<String> figures) {
        this.domid = domid;
        this.xs = xs;
        this.xenopsd = xenopsd;
        this.guest = guest;
        this.smapi = smapi;
        this.grants = new GrantTable(domid);
        this.domain = Integer.toString(domid);
        this.figures = figures;
    }

    void run() throws Exception {
        guest.await("p:plug", STEP);
        String sr = createSr();
        JsonNode volume = smapi.volume("Volume.create", "sr", sr, "name", "xen-stage disk", "description",
                "the real-Xen stage's product round", "size", VOLUME_BYTES, "sharable", false);
        String key = volume.path("key").asText();
        String uri = datapathUri(volume);
        Stage.log("product: volume " + key + " at " + uri);
        smapi.datapath("Datapath.open", "uri", uri, "persistent", true);
        Vbd plugged = start(uri, "first start");
        guest.ok("p:plug", "");

        guest.await("p:ready", STEP);
        int mapped = grants.mappedByDom0();
        Stage.log("product: grant entries of domain " + domid + " mapped by dom0 while blkifd serves: " + mapped);
        check(mapped > 0, "the grant table shows no mapping while blkifd serves the disk (the accounting is not"
                + " measuring anything)");
        guest.ok("p:ready", "");

        guest.await("p:writing", STEP);
        guest.ok("p:writing", "");
        // The guest writes a chunk every 100 ms for about 10 s; the kill lands in the middle.
        Thread.sleep(2000);
        killBlkifdAndAwaitTakeOver();
        String status = statusDuringWorkload(key);
        Stage.log("product: spdk-sr status during the workload: " + status);

        String guestMd5 = guest.await("p:verified", STEP);
        Stage.log("product: the guest verified every block it wrote; md5 of its first " + (CHECKED_BYTES >> 20)
                + " MiB " + guestMd5);
        guest.ok("p:verified", "");

        for (int n = 1; n <= REBOOTS; n++) {
            String reboot = "p" + n + ":reboot";
            guest.await(reboot, STEP);
            xenopsd.unplugClean(plugged, Duration.ofSeconds(60));
            guest.ok(reboot, "");
            guest.await("p" + n + ":down", STEP);
            stop(uri);
            if (n == 1) {
                compareOverNbd(uri, guestMd5);
            }
            plugged = start(uri, "restart " + n);
            guest.ok("p" + n + ":down", "");
            guestMd5 = guest.await("p" + n + ":up", STEP);
            Stage.log("product: restart " + n + ": the guest read its data back and wrote more; md5 now " + guestMd5);
            guest.ok("p" + n + ":up", "");
        }

        guest.await("p:unplug", STEP);
        xenopsd.unplugClean(plugged, Duration.ofSeconds(60));
        stop(uri);
        compareOverNbd(uri, guestMd5);
        smapi.datapath("Datapath.close", "uri", uri);
        guest.ok("p:unplug", "");
    }

    /** SR.create then SR.attach, as xe sr-create and the PBD plug do (smapiv3.md §6). */
    private String createSr() throws IOException, InterruptedException {
        Path dir = Path.of("/data/sr");
        Files.createDirectories(dir);
        JsonNode config = smapi.volume("SR.create", "uuid", UUID.randomUUID().toString(), "configuration",
                Map.of("path", dir.toString()), "name", "xen-stage SR", "description", "file SR on dom0's tmpfs");
        Map<String, String> stored = new HashMap<>();
        config.properties().forEach(e -> stored.put(e.getKey(), e.getValue().asText()));
        return smapi.volume("SR.attach", "configuration", stored).asText();
    }

    private static String datapathUri(JsonNode volume) {
        for (JsonNode u : volume.path("uri")) {
            if (u.asText().startsWith("spdk-sr:")) {
                return u.asText();
            }
        }
        throw new StageFailure("Volume.create returned no spdk-sr URI: " + volume);
    }

    /** VM start for one disk: Datapath.attach and activate, then xenopsd plugs the VBD (§6). */
    private Vbd start(String uri, String what) throws Exception {
        long t0 = System.nanoTime();
        JsonNode attached = smapi.datapath("Datapath.attach", "uri", uri, "domain", domain);
        smapi.datapath("Datapath.activate", "uri", uri, "domain", domain);
        XenDisk disk = XenDisk.from(attached);
        Vbd vbd = xenopsd.plug(VbdSpec.qdisk(domid, DISK, false, disk.params(), disk.extra()));
        xenopsd.awaitHotplugConnected(vbd, Duration.ofSeconds(60));
        awaitBackendConnected(vbd, Duration.ofSeconds(90));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        figures.add("attach -> Connected (" + what + "): " + ms + " ms");
        Stage.log("product: " + what + ": Datapath.attach -> backend Connected in " + ms + " ms, blkifd pid "
                + blkifdPid().map(String::valueOf).orElse("?"));
        return vbd;
    }

    /** VM shutdown for one disk: deactivate and detach; blkifd exits with the domain's last disk. */
    private void stop(String uri) throws Exception {
        Optional<ProcessHandle> blkifd = blkifdProcess();
        smapi.datapath("Datapath.deactivate", "uri", uri, "domain", domain);
        smapi.datapath("Datapath.detach", "uri", uri, "domain", domain);
        if (blkifd.isPresent()) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (blkifd.get().isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            check(!blkifd.get().isAlive(), "blkifd pid " + blkifd.get().pid() + " still runs after the last detach");
        } else {
            check(false, "no blkifd ran for domain " + domain + " before the detach");
        }
        int left = grants.mappedByDom0();
        Stage.log("product: after the last detach: blkifd gone, grant entries of domain " + domid
                + " still mapped by dom0: " + left);
        check(left == 0, left + " grant entries of the guest are still mapped after blkifd exited");
    }

    /**
     * kill -9 while the guest writes; the supervisor starts blkifd again and it takes the live
     * rings over (README: "When blkifd dies"). Timed up to its "took over" log line.
     */
    private void killBlkifdAndAwaitTakeOver() throws Exception {
        ProcessHandle victim = blkifdProcess().orElseThrow(() -> new StageFailure("no blkifd runs for domain " + domain));
        Path log = RUN.resolve(domain).resolve("blkifd.log");
        long before = Files.size(log);
        long t0 = System.nanoTime();
        new ProcessBuilder("kill", "-9", Long.toString(victim.pid())).inheritIO().start().waitFor();
        Stage.log("product: killed blkifd pid " + victim.pid() + " (SIGKILL) during the guest's writes");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            String added = tail(log, before);
            if (added.contains("took over the connection")) {
                long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                figures.add("kill -9 -> serving again: " + ms + " ms");
                Stage.log("product: blkifd pid " + blkifdPid().map(String::valueOf).orElse("?")
                        + " took the rings over " + ms + " ms after the kill: "
                        + added.lines().filter(l -> l.contains("took over")).findFirst().orElse("").trim());
                return;
            }
            Thread.sleep(50);
        }
        throw new StageFailure("blkifd did not take the rings over within 60 s of the kill; its log since: "
                + tail(log, before));
    }

    /** {@code spdk-sr status --json}: the domain's disk, Connected, with write counters moving. */
    private String statusDuringWorkload(String key) throws Exception {
        Process p = new ProcessBuilder("/usr/sbin/spdk-sr", "status", "--json").redirectErrorStream(false).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        check(p.waitFor() == 0, "spdk-sr status exited with " + p.exitValue());
        JsonNode all = smapi.json().readTree(out);
        for (JsonNode daemon : all) {
            if (!daemon.path("domain").asText().equals(domain)) {
                continue;
            }
            for (JsonNode disk : daemon.path("disks")) {
                for (JsonNode vbd : disk.path("vbds")) {
                    long writes = vbd.path("counters").path("writes").asLong();
                    String summary = "domain " + domain + " disk " + disk.path("id").asText() + " (" + disk.path("volume")
                            .asText() + ") " + disk.path("state").asText() + ", vbd " + vbd.path("name").asText() + " "
                            + vbd.path("state").asText() + ", " + vbd.path("queues").asInt() + " queue(s), writes "
                            + writes + ", bytes written " + vbd.path("counters").path("bytesWritten").asLong();
                    check(writes > 0, "spdk-sr status shows no write for the guest's disk: " + summary);
                    check(disk.path("uri").asText().contains(key), "spdk-sr status shows another volume: " + summary);
                    return summary;
                }
            }
        }
        check(false, "spdk-sr status does not list domain " + domain + "'s disk: " + out.strip());
        return out.strip();
    }

    /**
     * Datapath.attach for dom0 (a {@code u0_} domain, as xapi names its own attachments), the whole
     * disk read over the NBD export in dom0, and compared with what the guest says it holds.
     */
    private void compareOverNbd(String uri, String guestMd5) throws Exception {
        String dom0 = "u0_xenstage";
        JsonNode attached = smapi.datapath("Datapath.attach", "uri", uri, "domain", dom0);
        smapi.datapath("Datapath.activate", "uri", uri, "domain", dom0);
        String nbd = XenDisk.nbdUri(attached).orElseThrow(() -> new StageFailure("the dom0 attach has no Nbd: " + attached));
        String socket = nbd.split(":")[2];
        String export = nbd.substring(nbd.indexOf(":exportname=") + ":exportname=".length());
        long t0 = System.nanoTime();
        Process p = new ProcessBuilder("nbdcopy", "nbd+unix:///" + export + "?socket=" + socket, "-")
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        MessageDigest md5 = md5();
        long total = 0;
        byte[] checked = new byte[1 << 20];
        try (var in = p.getInputStream()) {
            int n;
            while ((n = in.read(checked)) > 0) {
                long room = Math.max(0, CHECKED_BYTES - total);
                md5.update(checked, 0, (int) Math.min(n, room));
                total += n;
            }
        }
        check(p.waitFor() == 0, "nbdcopy of " + nbd + " exited with " + p.exitValue());
        String got = HexFormat.of().formatHex(md5.digest());
        Stage.log("product: dom0 read " + total + " bytes over " + nbd + " in "
                + TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0) + " ms; md5 of the first " + (CHECKED_BYTES >> 20)
                + " MiB " + got + ", the guest's " + guestMd5);
        check(total == VOLUME_BYTES, "the NBD export has " + total + " bytes, the volume " + VOLUME_BYTES);
        check(got.equals(guestMd5), "dom0 reads other data over NBD than the guest wrote");
        smapi.datapath("Datapath.deactivate", "uri", uri, "domain", dom0);
        smapi.datapath("Datapath.detach", "uri", uri, "domain", dom0);
    }

    private void awaitBackendConnected(Vbd vbd, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (System.nanoTime() < deadline) {
            if (xs.readIfExists(vbd.backendPath() + "/state").orElse("").trim().equals("4")) {
                return;
            }
            Thread.sleep(20);
        }
        throw new StageFailure("the backend at " + vbd.backendPath() + " is not Connected within " + timeout
                + "; state " + xs.readIfExists(vbd.backendPath() + "/state").orElse("<none>"));
    }

    private Optional<Long> blkifdPid() {
        try {
            return Optional.of(Long.parseLong(Files.readString(RUN.resolve(domain).resolve("blkifd.pid")).trim()));
        } catch (IOException | NumberFormatException e) {
            return Optional.empty();
        }
    }

    private Optional<ProcessHandle> blkifdProcess() {
        return blkifdPid().flatMap(ProcessHandle::of).filter(ProcessHandle::isAlive);
    }

    private static String tail(Path log, long from) throws IOException {
        byte[] all = Files.readAllBytes(log);
        int start = (int) Math.min(from, all.length);
        return new String(all, start, all.length - start, StandardCharsets.UTF_8);
    }

    private static MessageDigest md5() {
        try {
            return MessageDigest.getInstance("MD5");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private void check(boolean ok, String failure) {
        if (!ok) {
            Stage.failed("product: " + failure);
        }
    }

    /** The parts of a Datapath.attach result xenopsd uses (smapiv3.md §7.2). */
    record XenDisk(String params, Map<String, String> extra) {
        static XenDisk from(JsonNode backend) {
            String nbd = nbdUri(backend).orElse("");
            for (JsonNode impl : backend.path("implementations")) {
                if (impl.path(0).asText().equalsIgnoreCase("XenDisk")) {
                    JsonNode arg = impl.path(1);
                    check("qdisk".equals(arg.path("backend_type").asText()), "backend_type " + arg.path("backend_type"));
                    Map<String, String> extra = new HashMap<>();
                    arg.path("extra").properties().forEach(e -> extra.put(e.getKey(), e.getValue().asText()));
                    // With no BlockDevice or File, xenopsd writes the Nbd URI as params (§7.2 item 2).
                    return new XenDisk(nbd, extra);
                }
            }
            throw new StageFailure("Datapath.attach returned no XenDisk implementation: " + backend);
        }

        static Optional<String> nbdUri(JsonNode backend) {
            for (JsonNode impl : backend.path("implementations")) {
                if (impl.path(0).asText().equalsIgnoreCase("Nbd")) {
                    return Optional.of(impl.path(1).path("uri").asText());
                }
            }
            return Optional.empty();
        }

        private static void check(boolean ok, String what) {
            if (!ok) {
                throw new StageFailure("the attach result's XenDisk is not what blkifd serves: " + what);
            }
        }
    }
}
