package org.spdksr.datapath.blkifd.daemon;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.spdksr.datapath.blkifd.BackendFeatures;
import org.spdksr.datapath.blkifd.BlkifBackendService;
import org.spdksr.datapath.blkifd.BufferSettings;
import org.spdksr.datapath.xen.XenAccess;
import org.spdksr.datapath.xen.XenAccessConfig;
import org.spdksr.datapath.xen.XenAccessFactory;

/**
 * The blkifd process of one domain: {@code BlkifdMain --domain <domain> --run-dir <root>} ({@link BlkifdArgs}).
 * Started detached by the first {@code Datapath.attach} of the domain, stopped by the control
 * socket's {@code shutdown} after the last {@code Datapath.detach} (ARCHITECTURE.md §1). A guest
 * domain (a domid above 0) gets the Xen services from {@code SPDKSR_XEN_MODE}; dom0 attachments
 * ({@code ""}, {@code 0}, {@code u0_...}: smapiv3.md §4.6) are served over NBD only.
 */
public final class BlkifdMain {
    private static final Logger LOG = LoggerFactory.getLogger(BlkifdMain.class);

    private BlkifdMain() {
    }

    /** The guest domid a datapath {@code domain} names, or -1 for dom0 attachments. */
    public static int guestDomid(String domain) {
        if (!domain.matches("[0-9]{1,5}")) {
            return -1;
        }
        int domid = Integer.parseInt(domain);
        return domid > 0 && domid < 0x7ff0 ? domid : -1;
    }

    public static void main(String[] args) throws Exception {
        Optional<BlkifdArgs> parsed;
        try {
            parsed = BlkifdArgs.parse(List.of(args));
        } catch (IllegalArgumentException e) {
            System.err.println("blkifd: " + e.getMessage());
            System.err.println(BlkifdArgs.USAGE);
            System.exit(2);
            return;
        }
        if (parsed.isEmpty()) {
            System.out.println(BlkifdArgs.USAGE);
            return;
        }
        System.exit(run(parsed.get().domain(), new RunDirectory(parsed.get().runDir())));
    }

    /** The exit status when another blkifd already serves the domain; not a crash, so not restarted. */
    static final int ALREADY_RUNNING = 3;

    static int run(String domain, RunDirectory run) throws IOException, InterruptedException {
        String label = "blkifd[" + domain + "]";
        Files.createDirectories(run.domainDir(domain));
        // Held until this process ends, however it ends: the kernel drops it for a killed one.
        FileChannel lockChannel = FileChannel.open(run.instanceLock(domain), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        FileLock instance = lockChannel.tryLock();
        if (instance == null) {
            LOG.error("{}: another blkifd already serves this domain (it holds {}); this one exits", label,
                    run.instanceLock(domain));
            lockChannel.close();
            return ALREADY_RUNNING;
        }
        Path pidFile = run.pidFile(domain);
        Files.writeString(pidFile, ProcessHandle.current().pid() + "\n", StandardCharsets.US_ASCII);
        int domid = guestDomid(domain);
        XenAccess xen = null;
        BlkifBackendService rings = null;
        if (domid > 0) {
            try {
                xen = XenAccessFactory.open(XenAccessConfig.from(System.getenv()));
            } catch (IOException | RuntimeException e) {
                LOG.error("{}: cannot reach Xen ({}); guest disks of domain {} cannot be served", label, e.getMessage(),
                        domid);
                Files.deleteIfExists(pidFile);
                return 1;
            }
            long budget;
            try {
                budget = BufferSettings.budgetBytes(System.getenv());
            } catch (IllegalArgumentException e) {
                LOG.error("{}: {}; guest disks of domain {} cannot be served", label, e.getMessage(), domid);
                xen.close();
                Files.deleteIfExists(pidFile);
                return 1;
            }
            rings = new BlkifBackendService(xen, BackendFeatures.defaults(), budget, run.ringJournalDir(domain));
            LOG.info("{}: request buffer memory: {} MiB for all disks of domain {} ({})", label,
                    rings.buffers().limitBytes() >> 20, domid, BufferSettings.BUFFER_MIB);
        }
        CountDownLatch stop = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        Blkifd blkifd = new Blkifd(domain, run, VolumeDevices.fromEnvironment(System.getenv(), run.root()), xen == null ? null : xen.xenstore(), rings, domid, stop::countDown);
        blkifd.reconcile();
        ControlServer control = ControlServer.start(run.controlSocket(domain), blkifd, ControlClient.mapper(), label);
        // SIGTERM: stop serving cleanly (flush every disk) before the JVM halts.
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            stop.countDown();
            try {
                done.await(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        LOG.info("{}: running as pid {}, control socket {}{}", label, ProcessHandle.current().pid(),
                run.controlSocket(domain), domid > 0 ? ", serving guest domain " + domid : ", NBD only (dom0 attachment)");
        stop.await();
        control.close();
        blkifd.close();
        if (rings != null) {
            rings.close();
        }
        if (xen != null) {
            xen.close();
        }
        Files.deleteIfExists(pidFile);
        instance.release(); // also keeps the lock reachable until here
        lockChannel.close();
        LOG.info("{}: stopped", label);
        done.countDown();
        return 0;
    }
}
