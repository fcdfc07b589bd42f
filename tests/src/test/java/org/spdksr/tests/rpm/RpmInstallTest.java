package org.spdksr.tests.rpm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.spdksr.tests.XapiStorageScript;

/**
 * The RPM that rpm/build.sh makes, unpacked into a scratch root as rpm would install it: every
 * path, mode and symlink of xcp-ng-host.md §1.6, the header (requires, payload, config files,
 * scriptlets), and real calls through the installed shim on the bundled runtime with its AOT
 * cache. Runs only when {@code -Dspdksr.rpm=<file>} names the RPM (rpm/README.md has the command),
 * because building it needs a Temurin JDK that a plain {@code mvn verify} machine may not have.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RpmInstallTest {
    private static final String VOLUME = "usr/libexec/xapi-storage-script/volume/org.xen.xapi.storage.spdk";
    private static final String DATAPATH = "usr/libexec/xapi-storage-script/datapath/spdk-sr";
    private static final String SHIM_LINK = "../../../spdk-sr/smapi-shim.py";
    private static final long TIMEOUT_SECONDS = 120;
    private static final ObjectMapper JSON = new ObjectMapper();

    private Path rpm;
    private Path top;
    private Path root;
    private Path scratch;

    @BeforeAll
    void install() throws Exception {
        String file = System.getProperty("spdksr.rpm", "");
        assumeTrue(!file.isBlank(), "no RPM to test: build it with rpm/build.sh, then pass -Dspdksr.rpm=<file>");
        top = XapiStorageScript.stageRoot().getParent().getParent();
        // A relative path is taken from the top of the project, where rpm/build.sh is run.
        rpm = top.resolve(file).normalize();
        assertThat(rpm).as("-Dspdksr.rpm").isRegularFile();
        scratch = Files.createTempDirectory("spdk-sr-rpm-test");
        root = Files.createDirectories(scratch.resolve("root"));
        // rpm2cpio | cpio -idm: what `rpm -i` writes, time stamps included (the AOT cache checks
        // them), without needing root or an rpm database.
        Run unpack = run(List.of("sh", "-c", "rpm2cpio \"$1\" | cpio -idm --quiet", "unpack", rpm.toString()),
                Map.of(), "", root);
        assertThat(unpack.exit()).as("unpacking %s: %s", rpm, unpack.err()).isZero();
    }

    @AfterAll
    void cleanUp() throws IOException {
        if (scratch != null) {
            try (Stream<Path> s = Files.walk(scratch)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    @Test
    void everyPathHasItsTypeAndMode() throws IOException {
        expect("etc/spdk-sr", Kind.DIR, "rwxr-xr-x");
        expect("etc/spdk-sr/spdk-sr.conf", Kind.FILE, "rw-r--r--");
        expect("etc/logrotate.d/spdk-sr", Kind.FILE, "rw-r--r--");
        expect("usr/libexec/spdk-sr/smapi-shim.py", Kind.FILE, "rwxr-xr-x");
        expect("usr/libexec/spdk-sr/spdk-sr-smapi", Kind.FILE, "rwxr-xr-x");
        expect("usr/libexec/spdk-sr/spdk-sr-blkifd", Kind.FILE, "rwxr-xr-x");
        expect("usr/sbin/spdk-sr", Kind.FILE, "rwxr-xr-x");
        expect("usr/share/spdk-sr/classpath", Kind.FILE, "rw-r--r--");
        // Sourced by the launchers, not a command.
        expect("usr/share/spdk-sr/launcher.sh", Kind.FILE, "rw-r--r--");
        expect("usr/share/spdk-sr", Kind.DIR, "rwxr-xr-x");
        expect("usr/libexec/spdk-sr", Kind.DIR, "rwxr-xr-x");
        expect("usr/share/spdk-sr/lib", Kind.DIR, "rwxr-xr-x");
        expect("usr/lib/spdk-sr/runtime/bin/java", Kind.FILE, "rwxr-xr-x");
        expect("usr/lib/spdk-sr/runtime/lib/server/libjvm.so", Kind.FILE, "rwxr-xr-x");
        expect("usr/lib/spdk-sr/runtime/lib/modules", Kind.FILE, "rw-r--r--");
        expect("usr/lib/spdk-sr/spdk-sr.aot", Kind.FILE, "rw-r--r--");
        expect("usr/lib/spdk-sr/native/libjnidispatch.so", Kind.FILE, "rwxr-xr-x");
        expect("usr/lib/spdk-sr/native/libsqlitejdbc.so", Kind.FILE, "rwxr-xr-x");
        expect("usr/lib/systemd/system/spdk-sr-tgt.service", Kind.FILE, "rw-r--r--");
        expect("usr/lib/systemd/system/spdk-sr-blkifd@.service", Kind.FILE, "rw-r--r--");
        expect("usr/share/doc/spdk-sr/README.md", Kind.FILE, "rw-r--r--");
        expect("var/lib/spdk-sr", Kind.DIR, "rwxr-xr-x");
        expect("var/log/spdk-sr", Kind.DIR, "rwxr-xr-x");
        expect(VOLUME, Kind.DIR, "rwxr-xr-x");
        expect(DATAPATH, Kind.DIR, "rwxr-xr-x");

        // The class path file names every jar, and only jars that are there.
        List<String> classpath = Files.readAllLines(root.resolve("usr/share/spdk-sr/classpath"));
        assertThat(classpath).isNotEmpty().anyMatch(j -> j.startsWith("spdk-sr-packaging-"));
        assertThat(new TreeSet<>(classpath)).isEqualTo(names(root.resolve("usr/share/spdk-sr/lib")));
        for (String jar : classpath) {
            expect("usr/share/spdk-sr/lib/" + jar, Kind.FILE, "rw-r--r--");
        }
        // The blkifd unit runs in vm.slice, as a template, with the installed launcher and the
        // arguments the datapath's unit-file test (BlkifdUnitFileTest) parses.
        String blkifd = Files.readString(root.resolve("usr/lib/systemd/system/spdk-sr-blkifd@.service"));
        assertThat(blkifd).contains("\nSlice=vm.slice\n",
                "\nExecStart=/usr/libexec/spdk-sr/spdk-sr-blkifd --instance %I --run-dir /run/spdk-sr/blkifd\n");
        assertThat(blkifd).isEqualTo(Files.readString(top.resolve("packaging/systemd/spdk-sr-blkifd@.service")));
    }

    @Test
    void everyMethodIsARelativeLinkToTheShimAsInTheStagedTree() throws IOException {
        Path staged = XapiStorageScript.stageRoot();
        for (String dir : List.of(VOLUME, DATAPATH)) {
            Set<String> methods = names(root.resolve(dir));
            // Both trees come from packaging/stage.sh: an RPM older than the code fails here.
            assertThat(methods).as("%s in the RPM against the staged tree %s (rebuild the RPM with rpm/build.sh)",
                    dir, staged).isEqualTo(names(staged.resolve(dir)));
            for (String m : methods) {
                Path link = root.resolve(dir).resolve(m);
                assertThat(Files.isSymbolicLink(link)).as("%s is a symlink", link).isTrue();
                assertThat(Files.readSymbolicLink(link)).as("%s", link).hasToString(SHIM_LINK);
                assertThat(link.toRealPath()).isEqualTo(root.resolve("usr/libexec/spdk-sr/smapi-shim.py").toRealPath());
            }
        }
        assertThat(names(root.resolve(VOLUME))).contains("Plugin.Query", "Plugin.diagnostics", "SR.create",
                "SR.attach", "SR.detach", "SR.stat", "SR.ls", "Volume.create", "Volume.destroy", "Volume.stat",
                "Volume.set", "Volume.unset");
        assertThat(names(root.resolve(DATAPATH))).contains("Plugin.Query", "Datapath.attach", "Datapath.activate",
                "Datapath.deactivate", "Datapath.detach");
    }

    @Test
    void theHeaderAsksOnlyForWhatAHostHas() throws Exception {
        Set<String> requires = lines(rpmQuery("--requires")).stream()
                .filter(r -> !r.startsWith("rpmlib(") && !r.equals("/bin/sh"))
                .collect(Collectors.toCollection(TreeSet::new));
        // Nothing from the bundled runtime (AutoReqProv: no; xcp-ng-host.md §1.6).
        assertThat(requires).containsExactlyInAnyOrder("xapi-storage-script", "python3", "systemd", "logrotate");
        assertThat(lines(rpmQuery("--provides"))).noneMatch(p -> p.contains(".so") || p.contains("(64bit)"));
        assertThat(rpmQuery("--qf", "%{ARCH}")).isEqualTo("x86_64");
        // XCP-ng 8.x has rpm 4.11: no zstd payload.
        assertThat(rpmQuery("--qf", "%{PAYLOADCOMPRESSOR}")).isIn("gzip", "xz");

        Map<String, String> entries = new HashMap<>();
        for (String line : lines(rpmQuery("--qf", "[%{FILEUSERNAME}:%{FILEGROUPNAME}:%{FILEFLAGS:fflags} %{FILENAMES}\n]"))) {
            String[] f = line.split(" ", 2);
            entries.put(f[1], f[0]);
        }
        assertThat(entries).allSatisfy((path, attrs) -> assertThat(attrs).as(path).startsWith("root:root:"));
        assertThat(entries.get("/etc/spdk-sr/spdk-sr.conf")).isEqualTo("root:root:cn");
        assertThat(entries.get("/etc/logrotate.d/spdk-sr")).isEqualTo("root:root:cn");
        // Only our own directories: xapi-storage-script owns volume/ and datapath/ (§1.3 item 2).
        assertThat(entries.keySet()).allSatisfy(p -> assertThat(p).matches(
                "/etc/spdk-sr(/.*)?|/etc/logrotate\\.d/spdk-sr|/usr/(lib|share|libexec)/spdk-sr(/.*)?"
                        + "|/usr/libexec/xapi-storage-script/(volume/org\\.xen\\.xapi\\.storage\\.spdk|datapath/spdk-sr)(/.*)?"
                        + "|/usr/lib/systemd/system/spdk-sr-(tgt|blkifd@)\\.service|/var/(lib|log)/spdk-sr"
                        + "|/usr/share/doc/spdk-sr(/.*)?|/usr/sbin/spdk-sr"));
    }

    @Test
    void theScriptletsStartStopAndRestartNothing() throws Exception {
        String scripts = rpmQuery("--scripts");
        assertThat(scripts).contains("postinstall scriptlet", "preuninstall scriptlet");
        // Quoted text is a message to the administrator, not a command.
        String code = scripts.replaceAll("\"[^\"]*\"", "\"\"").replaceAll("(?m)#.*$", "");
        Matcher m = Pattern.compile("systemctl((?:\\s+--[a-z-]+)*)\\s+([a-z-]+)").matcher(code);
        List<String> verbs = new ArrayList<>();
        while (m.find()) {
            verbs.add(m.group(2));
        }
        assertThat(verbs).isNotEmpty().isSubsetOf("daemon-reload", "disable", "is-active", "list-units");
        assertThat(code).doesNotContain("xe-toolstack-restart", "try-restart", "systemd_postun_with_restart");
    }

    /**
     * The cache must hold no machine code, or a host whose CPU lacks the build machine's
     * instructions crashes with SIGILL in every call (seen on the real-Xen stage's CPU).
     */
    @Test
    void theAotCacheLoadsNoMachineCodeBuiltForTheBuildMachinesCpu() throws Exception {
        Map<String, String> env = Map.of("SPDK_SR_JAVA_OPTS", "-XX:AOTMode=on -Xlog:aot+codecache*=info:stderr");
        Run query = call(VOLUME, "Plugin.Query", "{\"dbg\":\"rpm-test\"}", env);
        assertThat(JSON.readTree(query.out()).get("plugin").asText()).isEqualTo("spdk");
        assertThat(query.err()).doesNotContainPattern("Loaded [1-9][0-9]* AOT code entries");
    }

    @Test
    void pluginQueryRunsThroughTheInstalledShimOnTheBundledRuntime() throws Exception {
        // AOTMode=on: the JVM refuses to start if it cannot use the cache the RPM ships.
        Map<String, String> env = Map.of("SPDK_SR_JAVA_OPTS", "-XX:AOTMode=on");
        Run volume = call(VOLUME, "Plugin.Query", "{\"dbg\":\"rpm-test\"}", env);
        assertThat(JSON.readTree(volume.out()).get("plugin").asText()).isEqualTo("spdk");
        assertThat(volume.err()).as("the installed spdk-sr.conf parses cleanly").doesNotContain("ignoring");
        Run datapath = call(DATAPATH, "Plugin.Query", "{\"dbg\":\"rpm-test\"}", env);
        assertThat(JSON.readTree(datapath.out()).get("plugin").asText()).isEqualTo("spdk-sr");
        // The bundled runtime answered, not a JDK from the environment.
        Run diagnostics = call(VOLUME, "Plugin.diagnostics", "{\"dbg\":\"rpm-test\"}", env);
        assertThat(JSON.readTree(diagnostics.out()).asText()).contains("Java 25");
        // As the SMAPI observer runs it (smapiv3.md §3.7).
        Run runpy = run(List.of("python3", "-c", "import runpy, sys; sys.argv = [sys.argv[1], '--json']; "
                + "runpy.run_path(sys.argv[0], run_name='__main__')", root.resolve(DATAPATH).resolve("Plugin.Query")
                .toString()), env, "{\"dbg\":\"rpm-test\"}", root);
        assertThat(runpy.exit()).as(runpy.err()).isZero();
        assertThat(JSON.readTree(runpy.out()).get("plugin").asText()).isEqualTo("spdk-sr");
    }

    @Test
    void aVolumeLifeUsesTheShippedNativeLibrariesNotCopiesInTmp() throws Exception {
        Path tmp = Files.createDirectories(scratch.resolve("java-tmp"));
        Path sr = Files.createDirectories(scratch.resolve("sr"));
        Map<String, String> env = Map.of("SPDK_SR_JAVA_OPTS", "-XX:AOTMode=on -Djava.io.tmpdir=" + tmp,
                "SPDK_SR_STATE_DIR", scratch.resolve("state").toString());
        String config = call(VOLUME, "SR.create", "{\"dbg\":\"t\",\"uuid\":\"0f1e2d3c-4b5a-4968-8776-655443322110\","
                + "\"configuration\":{\"path\":" + JSON.writeValueAsString(sr.toString())
                + "},\"name\":\"rpm\",\"description\":\"\"}", env).out();
        String handle = JSON.writeValueAsString(JSON.readTree(call(VOLUME, "SR.attach",
                "{\"dbg\":\"t\",\"configuration\":" + config + "}", env).out()).asText());
        JsonNode vol = JSON.readTree(call(VOLUME, "Volume.create", "{\"dbg\":\"t\",\"sr\":" + handle
                + ",\"name\":\"v\",\"description\":\"\",\"size\":1048576,\"sharable\":false}", env).out());
        JsonNode stat = JSON.readTree(call(VOLUME, "Volume.stat", "{\"dbg\":\"t\",\"sr\":" + handle + ",\"key\":"
                + JSON.writeValueAsString(vol.get("key").asText()) + "}", env).out());
        assertThat(stat.get("virtual_size").asLong()).isEqualTo(1048576);
        call(VOLUME, "SR.destroy", "{\"dbg\":\"t\",\"sr\":" + handle + "}", env);
        // sqlite-jdbc and JNA would unpack their library into java.io.tmpdir on every call.
        assertThat(names(tmp)).noneMatch(n -> n.contains(".so"));

        // JNA (the datapath's Xen access) is only loaded by the training run: the same check for it.
        Path training = Files.createDirectories(scratch.resolve("training"));
        Run train = run(List.of(root.resolve("usr/libexec/spdk-sr/spdk-sr-smapi").toString(), "--aot-training",
                training.toString()), env, "", root);
        assertThat(train.exit()).as(train.err()).isZero();
        assertThat(train.err()).contains("JNA", "loaded");
        assertThat(names(tmp)).noneMatch(n -> n.contains(".so") || n.contains("jna"));
    }

    @Test
    void theLauncherReadsItsConfigurationFile() throws Exception {
        Path conf = scratch.resolve("test.conf");
        Files.writeString(conf, "# a comment\nSPDK_SR_JAVA_OPTS=\"-XX:+NoSuchFlagFromTheConf\"\nNOT_A_KEY=1\n");
        Run run = run(List.of(root.resolve(VOLUME).resolve("Plugin.Query").toString(), "--json"),
                Map.of("SPDK_SR_CONF", conf.toString()), "{\"dbg\":\"t\"}", root);
        assertThat(run.exit()).isNotZero();
        assertThat(run.err()).contains("NoSuchFlagFromTheConf", "ignoring unknown line 'NOT_A_KEY=1'");
        // The environment wins over the file.
        Run env = run(List.of(root.resolve(VOLUME).resolve("Plugin.Query").toString(), "--json"),
                Map.of("SPDK_SR_CONF", conf.toString(), "SPDK_SR_JAVA_OPTS", ""), "{\"dbg\":\"t\"}", root);
        assertThat(env.exit()).as(env.err()).isZero();
    }

    @Test
    void blkifdAndTheStatusCommandRunOnTheBundledRuntimeWithItsCacheAndNativeLibraries() throws Exception {
        // AOTMode=on: the JVM refuses to start if it cannot use the cache, which was trained through
        // spdk-sr-smapi (C1 only) while blkifd keeps its JIT and has its own heap limits.
        Map<String, String> env = Map.of("SPDK_SR_JAVA_OPTS", "-XX:AOTMode=on",
                "SPDK_SR_BLKIFD_JAVA_OPTS", "-XshowSettings:properties");
        Run help = run(List.of(root.resolve("usr/libexec/spdk-sr/spdk-sr-blkifd").toString(), "--help"), env, "", root);
        assertThat(help.exit()).as(help.err()).isZero();
        assertThat(help.out()).contains("usage: spdk-sr-blkifd --domain <domain> --run-dir", "--instance");
        Path lib = root.resolve("usr/lib/spdk-sr");
        assertThat(help.err()).contains("java.home = " + lib.resolve("runtime"),
                "jna.boot.library.path = " + lib.resolve("native"), "jna.nounpack = true");
        assertThat(help.err()).as("the installed spdk-sr.conf parses cleanly").doesNotContain("ignoring");

        Path runDir = Files.createDirectories(scratch.resolve("no-blkifd"));
        Run status = run(List.of(root.resolve("usr/sbin/spdk-sr").toString(), "status", "--run-dir", runDir.toString()),
                Map.of("SPDK_SR_JAVA_OPTS", "-XX:AOTMode=on"), "", root);
        assertThat(status.exit()).as(status.err()).isZero();
        assertThat(status.out()).contains("no blkifd is running");
    }

    @Test
    void blkifdAndTheStatusCommandReadTheConfigurationFile() throws Exception {
        Path conf = scratch.resolve("blkifd.conf");
        Files.writeString(conf, "SPDK_SR_JAVA_OPTS=\"-Dspdksr.from.conf=all\"\n"
                + "SPDK_SR_BLKIFD_JAVA_OPTS=\"-XX:+NoSuchBlkifdFlagFromTheConf\"\n"
                + "SPDK_SR_BLKIFD_LAUNCH=\"direct\"\n");
        Run blkifd = run(List.of(root.resolve("usr/libexec/spdk-sr/spdk-sr-blkifd").toString(), "--help"),
                Map.of("SPDK_SR_CONF", conf.toString()), "", root);
        assertThat(blkifd.exit()).isNotZero();
        assertThat(blkifd.err()).contains("NoSuchBlkifdFlagFromTheConf").doesNotContain("ignoring");
        // SPDK_SR_BLKIFD_JAVA_OPTS is blkifd's alone; SPDK_SR_JAVA_OPTS reaches the status command too.
        Run status = run(List.of(root.resolve("usr/sbin/spdk-sr").toString(), "status", "--run-dir",
                Files.createDirectories(scratch.resolve("conf-run")).toString()),
                Map.of("SPDK_SR_CONF", conf.toString(), "JDK_JAVA_OPTIONS",
                        "-XshowSettings:properties"), "", root);
        assertThat(status.exit()).as(status.err()).isZero();
        assertThat(status.err()).contains("spdksr.from.conf = all");
    }

    @Test
    void aJarNewerThanTheAotCacheTurnsTheCacheOff() throws Exception {
        Path jar = root.resolve("usr/share/spdk-sr/lib").resolve(
                Files.readAllLines(root.resolve("usr/share/spdk-sr/classpath")).get(0));
        FileTime shipped = Files.getLastModifiedTime(jar);
        try {
            // A hand-replaced jar: JDK 25 would still serve the old classes from the cache.
            Files.setLastModifiedTime(jar, FileTime.from(Instant.now().plusSeconds(60)));
            Run run = call(VOLUME, "Plugin.Query", "{\"dbg\":\"t\"}", Map.of());
            assertThat(run.err()).contains("is newer than the AOT cache", "Reinstall the spdk-sr RPM");
        } finally {
            Files.setLastModifiedTime(jar, shipped);
        }
        assertThat(call(VOLUME, "Plugin.Query", "{\"dbg\":\"t\"}", Map.of()).err()).doesNotContain("AOT cache");
    }

    /**
     * Only product classes reach a host: the simulated Xen host, guest, xenopsd stand-in and the
     * benchmark (module spdk-sr-sim) are the development tree's, and so are the HTTP and
     * web-service libraries jsonrpc4j would pull in.
     */
    @Test
    void theLibrariesHoldNoSimulationOrBenchmarkClassAndNoUnusedJar() throws IOException {
        Path lib = root.resolve("usr/share/spdk-sr/lib");
        Set<String> jars = names(lib);
        assertThat(jars).noneMatch(j -> j.startsWith("spdk-sr-sim"))
                .noneMatch(j -> j.matches("(httpcore|httpcore-nio|commons-codec|jakarta\\.jws-api)-.*"));
        List<String> simulation = new ArrayList<>();
        for (String jar : jars) {
            try (JarFile file = new JarFile(lib.resolve(jar).toFile())) {
                file.stream().map(JarEntry::getName)
                        // Classes, not directory entries: a build tree older than the move may keep empty folders.
                        .filter(n -> (n.endsWith(".class") && (n.startsWith("org/spdksr/datapath/sim/")
                                || n.startsWith("org/spdksr/datapath/xen/sim/")))
                                || n.equals("META-INF/services/org.spdksr.datapath.xen.SimulatedXen"))
                        .forEach(n -> simulation.add(jar + "!" + n));
            }
        }
        assertThat(simulation).as("simulation classes in the installed jars").isEmpty();
        assertThat(Files.readAllLines(root.resolve("usr/share/spdk-sr/classpath"))).containsExactlyInAnyOrderElementsOf(jars);
    }

    @Test
    void noShippedNativeLibraryNeedsMoreThanGlibc217() throws Exception {
        assumeTrue(onPath("objdump"), "objdump is missing (apt-get install binutils)");
        Run check = run(List.of(top.resolve("rpm/check-glibc.sh").toString(), "2.17",
                root.resolve("usr/lib/spdk-sr").toString(), root.resolve("usr/share/spdk-sr/lib").toString()),
                Map.of(), "", root);
        assertThat(check.exit()).as(check.out() + check.err()).isZero();
        assertThat(check.out()).contains("libjvm.so", "libjnidispatch.so", "libsqlitejdbc.so");
    }

    @Test
    void rpmlintFindsNothingBeyondTheAcceptedFindings() throws Exception {
        assumeTrue(onPath("rpmlint"), "rpmlint is not installed (apt-get install rpmlint)");
        Run lint = run(List.of("rpmlint", "-r", top.resolve("rpm/spdk-sr.rpmlintrc").toString(), rpm.toString()),
                Map.of(), "", scratch);
        assertThat(lint.exit()).as("rpmlint:\n%s%s", lint.out(), lint.err()).isZero();
    }

    private enum Kind { FILE, DIR }

    private void expect(String path, Kind kind, String perms) throws IOException {
        Path p = root.resolve(path);
        assertThat(Files.exists(p, LinkOption.NOFOLLOW_LINKS)).as("%s is installed", path).isTrue();
        assertThat(kind == Kind.DIR ? Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)
                : Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)).as("%s is a %s", path, kind).isTrue();
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)))
                .as("mode of %s", path).isEqualTo(perms);
    }

    private static Set<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private static List<String> lines(String text) {
        return text.lines().map(String::strip).filter(l -> !l.isEmpty()).collect(Collectors.toList());
    }

    private String rpmQuery(String... args) throws Exception {
        List<String> argv = new ArrayList<>(List.of("rpm", "-qp"));
        argv.addAll(List.of(args));
        argv.add(rpm.toString());
        Run r = run(argv, Map.of(), "", scratch);
        assertThat(r.exit()).as("%s: %s", argv, r.err()).isZero();
        return r.out();
    }

    /** One call through an installed entry point, as xapi-storage-script makes it; must succeed. */
    private Run call(String dir, String method, String stdin, Map<String, String> env) throws Exception {
        Run r = run(List.of(root.resolve(dir).resolve(method).toString(), "--json"), env, stdin, root);
        assertThat(r.exit()).as("%s exited with %d; stdout %s; stderr %s", method, r.exit(), r.out(), r.err()).isZero();
        return r;
    }

    private static boolean onPath(String tool) throws Exception {
        return run(List.of("sh", "-c", "command -v \"$1\"", "which", tool), Map.of(), "", Path.of(".")).exit() == 0;
    }

    private record Run(int exit, String out, String err) {
    }

    /** Output goes to files so that a hung child cannot block the test past the timeout. */
    private static Run run(List<String> argv, Map<String, String> env, String stdin, Path dir) throws Exception {
        Path out = Files.createTempFile("rpm-test", ".out");
        Path err = Files.createTempFile("rpm-test", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(argv).directory(dir.toFile())
                    .redirectOutput(out.toFile()).redirectError(err.toFile());
            // The bundled runtime must be the one that runs, whatever this JVM's environment says.
            pb.environment().remove("SPDK_SR_JAVA");
            pb.environment().remove("JAVA_HOME");
            pb.environment().remove("SPDK_SR_JAVA_OPTS");
            pb.environment().putAll(env);
            Process p = pb.start();
            try (var in = p.getOutputStream()) {
                in.write(stdin.getBytes(StandardCharsets.UTF_8));
            } catch (IOException e) {
                // the child may exit without reading stdin
            }
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new AssertionError("no answer within " + TIMEOUT_SECONDS + " s from " + argv);
            }
            return new Run(p.exitValue(), Files.readString(out), Files.readString(err));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
