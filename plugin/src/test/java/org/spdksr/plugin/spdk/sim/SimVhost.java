package org.spdksr.plugin.spdk.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;

/**
 * The vhost_blk methods of spdk_tgt (spdk-rpc.md §6, export paths). A controller here is a real
 * vhost-user-blk server: a qemu-storage-daemon exporting the lvol's data file ({@link LvolData})
 * on {@code <vhost dir>/<ctrlr>}, the socket path spdk_tgt would use with {@code -S dir} (§3). So a
 * front end connecting to it speaks vhost-user to a real back end, whose features differ from
 * SPDK's (§6 lists what spdk_tgt offers).
 */
final class SimVhost {
    static final String DAEMON = "qemu-storage-daemon";

    private final ObjectMapper mapper;
    private final Path dir;
    private final Map<String, Controller> controllers = new LinkedHashMap<>();

    private static final class Controller {
        final String name;
        final SimBdev bdev;
        final boolean readOnly;
        final Path socket;
        final Process daemon;
        final int idleSockets;

        Controller(String name, SimBdev bdev, boolean readOnly, Path socket, Process daemon, int idleSockets) {
            this.name = name;
            this.bdev = bdev;
            this.readOnly = readOnly;
            this.socket = socket;
            this.daemon = daemon;
            this.idleSockets = idleSockets;
        }

        /** Connected initiators: the daemon's sockets beyond those it had before anyone connected. */
        int sessions() {
            return Math.max(0, sockets(daemon.pid()) - idleSockets);
        }
    }

    SimVhost(ObjectMapper mapper, Path dir) {
        this.mapper = mapper;
        this.dir = dir;
    }

    JsonNode create(JsonNode params, Function<String, SimBdev> lookup) throws IOException {
        SimParams p = vhostParams(params, "ctrlr", "dev_name", "cpumask", "transport", "readonly", "packed_ring");
        String name = p.string("ctrlr");
        boolean readOnly = p.bool("readonly", false);
        SimBdev bdev = lookup.apply(p.string("dev_name"));
        if (controllers.containsKey(name)) {
            throw SimError.async("File exists"); // not in spdk-rpc.md: vhost_dev_register's -EEXIST
        }
        if (bdev == null || bdev.lvol == null) {
            // Not in spdk-rpc.md: spdk_bdev_open_ext's -ENODEV. Only lvols carry data here.
            throw SimError.async("No such device");
        }
        if (!readOnly && bdev.lvol.readOnly) {
            throw SimError.async("Operation not permitted"); // not in spdk-rpc.md: a write open of a read-only lvol
        }
        Path data = LvolData.materialise(bdev.lvstore, bdev.lvol);
        Path socket = dir.resolve(name);
        controllers.put(name, launch(name, bdev, readOnly, data, socket));
        return BooleanNode.TRUE;
    }

    JsonNode get(JsonNode params) {
        String only = params == null || params.isNull() ? null : vhostParams(params, "name").string("name", null);
        if (only != null && !controllers.containsKey(only)) {
            throw SimError.async("No such device"); // not in spdk-rpc.md: -ENODEV as invalid params
        }
        ArrayNode list = mapper.createArrayNode();
        for (Controller c : controllers.values()) {
            if (only != null && !only.equals(c.name)) {
                continue;
            }
            ObjectNode o = list.addObject().put("ctrlr", c.name).put("cpumask", "0x1").put("delay_base_us", 0)
                    .put("iops_threshold", 60000).put("socket", c.socket.toString());
            ArrayNode sessions = o.putArray("sessions");
            for (int i = 0; i < c.sessions(); i++) {
                sessions.addObject().put("vid", i).put("id", i).put("name", c.name + "s" + i).put("started", true);
            }
            o.putObject("backend_specific").putObject("block").put("readonly", c.readOnly).put("bdev", c.bdev.name)
                    .put("transport", "vhost_user_blk");
        }
        return list;
    }

    JsonNode delete(JsonNode params) {
        String name = vhostParams(params, "ctrlr").string("ctrlr");
        Controller c = controllers.get(name);
        if (c == null) {
            throw SimError.async("No such device"); // not in spdk-rpc.md
        }
        if (c.sessions() > 0) {
            throw SimError.async("Device or resource busy"); // §6: refused while an initiator is connected
        }
        controllers.remove(name);
        stop(c);
        return BooleanNode.TRUE;
    }

    /** An lvol open by a controller may still be deleted: its consumer sees a hot-remove (§6, seen). */
    void bdevRemoved(SimBdev bdev) {
        for (Controller c : List.copyOf(controllers.values())) {
            if (c.bdev == bdev) {
                controllers.remove(c.name);
                stop(c);
            }
        }
    }

    /** The vhost_blk part of save_config: what a restart with {@code -c} brings back (§4, seen). */
    void config(ArrayNode config) {
        for (Controller c : controllers.values()) {
            ObjectNode params = config.addObject().put("method", "vhost_create_blk_controller").putObject("params");
            params.put("ctrlr", c.name).put("dev_name", c.bdev.name).put("cpumask", "0x1").put("readonly", c.readOnly)
                    .put("transport", "vhost_user_blk");
        }
    }

    /**
     * The app exits: every controller's socket goes away at once, and no request in flight is
     * answered. The daemons get SIGKILL, not SIGTERM: qemu-storage-daemon 7.2 stops its export
     * without waiting for the requests it is serving, and may then write VIRTIO_BLK_S_IOERR into
     * their status (its drained_poll came in a later release), which a vanished spdk_tgt never
     * does. Seen in CI as guest I/O errors across a simulated restart.
     */
    void closeAll() {
        for (Controller c : List.copyOf(controllers.values())) {
            kill(c);
        }
        controllers.clear();
    }

    /** vhost methods report decode failures as -32602 "Invalid argument" (§2, seen: unknown vhost param). */
    private static SimParams vhostParams(JsonNode params, String... allowed) {
        try {
            return SimParams.of(params, allowed);
        } catch (SimError e) {
            throw SimError.async("Invalid argument");
        }
    }

    private Controller launch(String name, SimBdev bdev, boolean readOnly, Path data, Path socket) throws IOException {
        Files.createDirectories(dir);
        Files.deleteIfExists(socket);
        Path log = dir.resolve(name + ".log");
        List<String> command = List.of(DAEMON,
                "--blockdev", "driver=file,node-name=file0,filename=" + data + ",discard=unmap",
                "--blockdev", "driver=raw,node-name=disk0,file=file0,discard=unmap" + (readOnly ? ",read-only=on" : ""),
                "--export", "type=vhost-user-blk,id=exp0,node-name=disk0,addr.type=unix,addr.path=" + socket
                        + ",writable=" + (readOnly ? "off" : "on") + ",num-queues=4");
        Process daemon;
        try {
            daemon = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        } catch (IOException e) {
            throw new SimError(-32603, "cannot run " + DAEMON + " (apt-get install qemu-system-common): " + e.getMessage());
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!Files.exists(socket)) {
            if (!daemon.isAlive() || System.nanoTime() > deadline) {
                daemon.destroyForcibly();
                throw new SimError(-32603, DAEMON + " did not serve " + socket + ": " + Files.readString(log));
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                daemon.destroyForcibly();
                throw new IOException("interrupted starting " + DAEMON, e);
            }
        }
        return new Controller(name, bdev, readOnly, socket, daemon, sockets(daemon.pid()));
    }

    private static void kill(Controller c) {
        try {
            c.daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            Files.deleteIfExists(c.socket);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // a leftover socket file is harmless: the next create unlinks it
        }
    }

    private static void stop(Controller c) {
        c.daemon.destroy();
        try {
            if (!c.daemon.waitFor(10, TimeUnit.SECONDS)) {
                c.daemon.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
            Files.deleteIfExists(c.socket);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (IOException e) {
            // the socket file is the daemon's to remove; a leftover is harmless (the next create unlinks it)
        }
    }

    private static int sockets(long pid) {
        Path fds = Path.of("/proc/" + pid + "/fd");
        try (var list = Files.list(fds)) {
            return (int) list.filter(fd -> {
                try {
                    return Files.readSymbolicLink(fd).toString().startsWith("socket:");
                } catch (IOException e) {
                    return false;
                }
            }).count();
        } catch (IOException e) {
            return 0;
        }
    }
}
