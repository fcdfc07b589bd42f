package org.spdksr.tests;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * §5: xapi reads VDI attributes back from the keys map, so whatever string xapi stores must come
 * back unchanged from Volume.stat and SR.ls. Generated strings range over all of Unicode (minus
 * lone surrogates, which are not text). Each call is a JVM start, hence few tries.
 */
class KeysPropertyTest {
    private static final Xapi XAPI = Xapi.staged();
    private static Path srDir;
    private static String sr;

    @BeforeContainer
    static void createSr() throws IOException {
        // jqwik does not honour JUnit's @TempDir, so the directory is made and removed by hand.
        srDir = Files.createTempDirectory("spdk-sr-keys");
        sr = XAPI.srCreateAndPlug(Map.of("path", srDir.toString()), "keys", "").sr();
    }

    @AfterContainer
    static void removeSr() throws IOException {
        if (srDir == null) {
            return;
        }
        try (Stream<Path> s = Files.walk(srDir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
    }

    @Property(tries = 6)
    void anyKeysMapRoundTrips(@ForAll("keyMaps") Map<String, String> keys, @ForAll("text") String name) {
        Volume v = Volume.from(XAPI.volumeCall("Volume.create", "sr", sr, "name", name, "description", name,
                "size", 4096L, "sharable", false));
        keys.forEach((k, val) -> XAPI.volumeSet(sr, v.key(), k, val));

        Volume stat = XAPI.volumeStat(sr, v.key());
        assertThat(stat.keys()).isEqualTo(keys);
        assertThat(stat.name()).isEqualTo(name);
        assertThat(stat.description()).isEqualTo(name);
        assertThat(XAPI.srLs(sr)).filteredOn(x -> x.key().equals(v.key()))
                .singleElement().satisfies(listed -> assertThat(listed.keys()).isEqualTo(keys));
        XAPI.vdiDestroy(sr, v.key());
    }

    @Provide
    Arbitrary<Map<String, String>> keyMaps() {
        return Arbitraries.maps(text(), text()).ofMinSize(1).ofMaxSize(3);
    }

    /** Strings of Unicode scalar values: ASCII, controls (NUL included), BMP and astral planes. */
    @Provide
    Arbitrary<String> text() {
        Arbitrary<Integer> codePoint = Arbitraries.<Integer>frequencyOf(
                weighted(4, Arbitraries.integers().between(0x20, 0x7e)),
                weighted(1, Arbitraries.integers().between(0, 0x1f)),
                weighted(2, Arbitraries.integers().between(0x80, 0xd7ff)),
                weighted(1, Arbitraries.integers().between(0xe000, 0xffff)),
                weighted(2, Arbitraries.integers().between(0x10000, 0x10ffff)));
        return codePoint.list().ofMaxSize(12).map(KeysPropertyTest::fromCodePoints)
                .edgeCases(c -> c.add("", "=", "a=b", "\u0000", "日本語", "\uD834\uDD1E"));
    }

    private static Tuple.Tuple2<Integer, Arbitrary<? extends Integer>> weighted(int weight, Arbitrary<Integer> a) {
        return Tuple.of(weight, a);
    }

    private static String fromCodePoints(List<Integer> cps) {
        StringBuilder sb = new StringBuilder();
        cps.forEach(sb::appendCodePoint);
        return sb.toString();
    }
}
