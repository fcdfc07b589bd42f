package org.spdksr.datapath.blkifd.daemon;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/**
 * blkifd's command line. Two forms name the domain:
 * <ul>
 *   <li>{@code --domain <domain> --run-dir <root>}, how {@code Datapath.attach} starts it directly;</li>
 *   <li>{@code --instance <name> --run-dir <root>}, how the spdk-sr-blkifd@ unit starts it: the
 *       instance name is the domain's run-directory name ({@link RunDirectory#domainDirName}),
 *       because a datapath domain can be "" (smapiv3.md §4.6) and a systemd instance cannot.</li>
 * </ul>
 * {@code --help} asks for the usage (exit 0). A hand-written parser, not picocli: picocli's
 * classes cannot be in the AOT cache (xcp-ng-host.md §2.1), and blkifd starts at every VM start.
 */
public record BlkifdArgs(String domain, Path runDir) {
    public static final String USAGE = "usage: spdk-sr-blkifd --domain <domain> --run-dir <run directory root>\n"
            + "       spdk-sr-blkifd --instance <domain directory name> --run-dir <run directory root>\n"
            + "  (Datapath.attach starts blkifd; the default run directory is " + RunDirectory.DEFAULT_ROOT + ")";

    /**
     * @return the arguments, or empty if they ask for {@code --help}
     * @throws IllegalArgumentException saying what is wrong with them
     */
    public static Optional<BlkifdArgs> parse(List<String> args) {
        if (args.contains("--help") || args.contains("-h")) {
            return Optional.empty();
        }
        String domain = null;
        Path root = null;
        for (int i = 0; i < args.size(); i += 2) {
            String option = args.get(i);
            if (i + 1 >= args.size()) {
                throw new IllegalArgumentException(option + " needs a value");
            }
            String value = args.get(i + 1);
            switch (option) {
                case "--domain" -> domain = once(option, domain, value);
                case "--instance" -> domain = once(option, domain, RunDirectory.domainOfDirName(value));
                case "--run-dir" -> root = Path.of(once(option, root == null ? null : root.toString(), value));
                default -> throw new IllegalArgumentException("unknown option " + option);
            }
        }
        if (domain == null || root == null) {
            throw new IllegalArgumentException("--domain (or --instance) and --run-dir are required");
        }
        return Optional.of(new BlkifdArgs(domain, root));
    }

    private static String once(String option, String earlier, String value) {
        if (earlier != null) {
            throw new IllegalArgumentException(option + " names the domain or run directory a second time");
        }
        return value;
    }
}
