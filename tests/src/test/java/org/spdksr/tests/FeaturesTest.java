package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * xapi enables operations from Plugin.query's features (smapiv3.md §8): a feature whose methods
 * are missing would let xapi start operations that then fail with SCRIPT_MISSING.
 */
class FeaturesTest {
    private static final XapiStorageScript.Kind VOLUME = XapiStorageScript.Kind.VOLUME;
    private static final XapiStorageScript.Kind DATAPATH = XapiStorageScript.Kind.DATAPATH;

    /** The method files each feature makes xapi call (§8 table, §4.5, §4.6). */
    private static final Map<String, List<String>> NEEDS = Map.ofEntries(
            Map.entry("SR_PROBE", List.of("SR.probe")),
            Map.entry("SR_UPDATE", List.of("SR.stat")),
            Map.entry("VDI_CREATE", List.of("Volume.create")),
            Map.entry("VDI_DESTROY", List.of("Volume.destroy")),
            Map.entry("VDI_DELETE", List.of("Volume.destroy")),
            Map.entry("VDI_UPDATE", List.of("Volume.stat")),
            Map.entry("VDI_RESIZE", List.of("Volume.resize")),
            Map.entry("VDI_SNAPSHOT", List.of("Volume.snapshot")),
            Map.entry("VDI_CLONE", List.of("Volume.clone")),
            Map.entry("VDI_REVERT", List.of("Volume.revert")),
            Map.entry("VDI_COMPOSE", List.of("Volume.compose")),
            Map.entry("VDI_CONFIG_CBT", List.of("Volume.enable_cbt", "Volume.disable_cbt",
                    "Volume.data_destroy", "Volume.list_changed_blocks")));

    /** Features served by the datapath plugin's files rather than the volume plugin's. */
    private static final Map<String, List<String>> DATAPATH_NEEDS = Map.of(
            "VDI_ACTIVATE_READONLY", List.of("Datapath.activate_readonly"),
            "VDI_MIRROR", List.of("Data.mirror", "Data.stat"));

    private final Xapi xapi = Xapi.staged();

    @Test
    void everyAdvertisedFeatureHasItsMethods() throws IOException {
        Set<String> volumeFiles = lowerNames(xapi.xss().pluginDir(VOLUME));
        Set<String> datapathFiles = lowerNames(xapi.xss().pluginDir(DATAPATH));
        for (String feature : xapi.query().features()) {
            String name = feature.split("/", 2)[0];
            NEEDS.getOrDefault(name, List.of()).forEach(m ->
                    assertThat(volumeFiles).as("%s needs volume method %s", feature, m).contains(lower(m)));
            DATAPATH_NEEDS.getOrDefault(name, List.of()).forEach(m ->
                    assertThat(datapathFiles).as("%s needs datapath method %s", feature, m).contains(lower(m)));
        }
    }

    /**
     * The other way round: a method that xapi calls only when a feature is declared is dead
     * without it, and worse for activate_readonly: read-only VBDs then go to Datapath.activate
     * (issue 15). Every such method file present needs one of its features declared.
     */
    @Test
    void everyFeatureGatedMethodHasItsFeatureDeclared() throws IOException {
        Set<String> declared = xapi.query().features().stream().map(f -> f.split("/", 2)[0]).collect(Collectors.toSet());
        checkGatedMethods(lowerNames(xapi.xss().pluginDir(VOLUME)), NEEDS, declared);
        checkGatedMethods(lowerNames(xapi.xss().pluginDir(DATAPATH)), DATAPATH_NEEDS, declared);
    }

    private static void checkGatedMethods(Set<String> files, Map<String, List<String>> needs, Set<String> declared) {
        Map<String, Set<String>> featuresOf = new java.util.HashMap<>();
        needs.forEach((feature, methods) -> methods.forEach(m ->
                featuresOf.computeIfAbsent(lower(m), k -> new java.util.TreeSet<>()).add(feature)));
        featuresOf.forEach((method, features) -> {
            if (files.contains(method)) {
                assertThat(features).as("%s is present, so one of %s must be declared", method, features)
                        .containsAnyElementsOf(declared);
            }
        });
    }

    @Test
    void offlineAttachIsOnlyAdvertisedWithThePositionalCli() {
        // §3.8: VDI_ATTACH_OFFLINE makes static-vdis call the files without --json; the
        // positional form is not part of this plugin yet, so the feature must not be claimed.
        assertThat(xapi.query().features()).noneMatch(f -> f.startsWith("VDI_ATTACH_OFFLINE"));
    }

    @Test
    void featureNamesFollowTheSyntaxXapiParses() {
        // §8: NAME or NAME/<version>; anything else is dropped with a warning.
        assertThat(xapi.query().features()).allMatch(f -> f.matches("[A-Z0-9_]+(/[0-9]+)?"));
    }

    private static String lower(String s) {
        return s.toLowerCase(Locale.ROOT);
    }

    private static Set<String> lowerNames(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(Files::isExecutable).map(p -> lower(p.getFileName().toString()))
                    .collect(Collectors.toSet());
        }
    }
}
