package org.spdksr.packaging;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.FileOutputStream;
import java.io.FileDescriptor;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;
import org.spdksr.datapath.DatapathPlugin;
import org.spdksr.plugin.protocol.EntryPointRunner;
import org.spdksr.plugin.protocol.MethodTable;
import org.spdksr.plugin.protocol.SmapiJson;
import org.spdksr.volume.VolumePlugin;

/**
 * What the launcher runs for every SMAPIv3 entry point:
 * {@code <volume|datapath> <Method.name> [--json | positional arguments]}. The shim derives the
 * first two words from the path it was started as (xcp-ng-host.md §1.6: Java cannot see the
 * symlink name). {@code --entry-points} lists the methods, one {@code <kind> <name>} per line,
 * for the staging script that makes the symlinks. {@code --aot-training <dir>} is the training run
 * of the RPM build ({@link AotTraining}).
 */
public final class EntryPointMain {

    private EntryPointMain() {}

    public static void main(String[] args) {
        // Only the reply may reach stdout (smapiv3.md §3.2): anything a library prints goes to stderr.
        OutputStream stdout = new FileOutputStream(FileDescriptor.out);
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true));
        System.exit(run(args, stdout));
    }

    static int run(String[] args, OutputStream stdout) {
        String version = versionOf();
        if (args.length == 1 && args[0].equals("--entry-points")) {
            PrintStream out = new PrintStream(stdout, true);
            tableFor("volume", version).specs().forEach(s -> out.println("volume " + s.name()));
            tableFor("datapath", version).specs().forEach(s -> out.println("datapath " + s.name()));
            return 0;
        }
        if (args.length == 2 && args[0].equals("--aot-training")) {
            return AotTraining.run(java.nio.file.Path.of(args[1]), System.err);
        }
        if (args.length < 2 || tableFor(args[0], version) == null) {
            System.err.println("usage: spdk-sr-smapi <volume|datapath> <Interface.method> --json");
            System.err.println("       spdk-sr-smapi --entry-points");
            return 2;
        }
        ObjectMapper json = SmapiJson.newMapper();
        EntryPointRunner runner = new EntryPointRunner(tableFor(args[0], version), json);
        List<String> argv = Arrays.asList(args).subList(2, args.length);
        return runner.run(args[1], argv, System.in, stdout);
    }

    private static MethodTable tableFor(String kind, String version) {
        return switch (kind) {
            case "volume" -> VolumePlugin.withDefaultBackends(version).methods();
            case "datapath" -> new DatapathPlugin(version).methods();
            default -> null;
        };
    }

    private static String versionOf() {
        String version = EntryPointMain.class.getPackage().getImplementationVersion();
        return version == null ? "development" : version;
    }
}
