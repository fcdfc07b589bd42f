package org.spdksr.datapath.sim.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * qemu-storage-daemon exporting the benchmark file over vhost-user-blk: the real back end the
 * vhost-user device talks to when no spdk_tgt is at hand. {@code discard=unmap} is needed on both
 * nodes for discards to reach the file.
 */
final class StorageDaemon implements AutoCloseable {
    private final Process process;
    private final Path socket;

    private StorageDaemon(Process process, Path socket) {
        this.process = process;
        this.socket = socket;
    }

    static boolean available() {
        return Files.isExecutable(Path.of("/usr/bin/qemu-storage-daemon"));
    }

    static StorageDaemon start(Path file, Path socket, int queues) throws IOException, InterruptedException {
        Files.deleteIfExists(socket);
        Process process = new ProcessBuilder(List.of("qemu-storage-daemon",
                "--blockdev", "driver=file,node-name=file0,filename=" + file + ",discard=unmap",
                "--blockdev", "driver=raw,node-name=disk0,file=file0,discard=unmap",
                "--export", "type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path=" + socket
                        + ",writable=on,num-queues=" + queues))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!Files.exists(socket)) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                process.destroyForcibly();
                throw new IOException("qemu-storage-daemon did not open " + socket);
            }
            Thread.sleep(20);
        }
        return new StorageDaemon(process, socket);
    }

    Path socket() {
        return socket;
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
            process.destroyForcibly();
        }
    }
}
