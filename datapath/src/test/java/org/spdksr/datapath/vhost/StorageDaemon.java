package org.spdksr.datapath.vhost;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A qemu-storage-daemon (Debian package qemu-system-common) exporting a raw image file as a
 * vhost-user-blk server: the real back end the tests run against. Started and killed by its own
 * process handle only. Public for the blkifd tests that put a guest ring in front of it.
 */
public final class StorageDaemon implements AutoCloseable {
    static final String BINARY = "qemu-storage-daemon";

    private final Path image;
    private final Path socket;
    private final boolean writable;
    private final int queues;
    private final Path log;
    private Process process;

    private StorageDaemon(Path image, Path socket, boolean writable, int queues, Path log) {
        this.image = image;
        this.socket = socket;
        this.writable = writable;
        this.queues = queues;
        this.log = log;
    }

    /** Skips the calling test, with the reason, when the daemon is not installed. */
    public static void requireInstalled() {
        boolean found = Arrays.stream(System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
                .anyMatch(d -> Files.isExecutable(Path.of(d, BINARY)));
        assumeTrue(found, "skipped: " + BINARY + " is not installed (apt-get install qemu-system-common)");
    }

    public static StorageDaemon start(Path image, Path socket, boolean writable, int queues) throws IOException, InterruptedException {
        StorageDaemon d = new StorageDaemon(image, socket, writable, queues, socket.resolveSibling(socket.getFileName() + ".log"));
        d.launch();
        return d;
    }

    /** The command line, also quoted in the report of the change that added these tests. */
    List<String> commandLine() {
        List<String> cmd = new ArrayList<>(List.of(BINARY,
                "--blockdev", "driver=file,node-name=file0,filename=" + image + ",discard=unmap",
                "--blockdev", "driver=raw,node-name=disk0,file=file0,discard=unmap" + (writable ? "" : ",read-only=on"),
                "--export", "type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path=" + socket
                        + ",writable=" + (writable ? "on" : "off") + ",num-queues=" + queues));
        return cmd;
    }

    void launch() throws IOException, InterruptedException {
        Files.deleteIfExists(socket);
        process = new ProcessBuilder(commandLine()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        // Wait until the socket accepts connections: the daemon creates it after parsing its options.
        for (int i = 0; i < 3000; i++) {
            if (!process.isAlive()) {
                throw new IOException(BINARY + " exited with " + process.exitValue() + ": " + Files.readString(log));
            }
            if (Files.exists(socket)) {
                return;
            }
            Thread.sleep(10);
        }
        throw new IOException(BINARY + " did not create " + socket + " within 30 s: " + Files.readString(log));
    }

    /** SIGSTOP: the daemon stops serving, so requests sent now stay in flight until it is killed. */
    public void freeze() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kill", "-STOP", Long.toString(process.pid())).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IOException("kill -STOP " + process.pid() + " failed");
        }
    }

    /** SIGCONT: a frozen daemon serves again, and completes what it held. */
    public void thaw() throws IOException, InterruptedException {
        Process p = new ProcessBuilder("kill", "-CONT", Long.toString(process.pid())).inheritIO().start();
        if (p.waitFor() != 0) {
            throw new IOException("kill -CONT " + process.pid() + " failed");
        }
    }

    /** SIGKILL, as a crash: the socket file stays behind, like after a real crash. */
    void kill() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    public Path socket() {
        return socket;
    }

    public String log() throws IOException {
        return Files.exists(log) ? Files.readString(log) : "";
    }

    @Override
    public void close() throws InterruptedException {
        if (process != null && process.isAlive()) {
            process.destroy();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                kill();
            }
        }
    }
}
