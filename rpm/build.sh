#!/usr/bin/env bash
# Builds the spdk-sr RPM for XCP-ng 8.2/8.3 hosts from the Maven build output:
#   1. lays out the install tree with packaging/stage.sh (the same script `mvn package` uses for
#      target/root, so the RPM and the staged tree cannot drift);
#   2. adds a jlink runtime from a glibc-2.17 JDK (Temurin; xcp-ng-host.md §1.2, §2.4) and the
#      native libraries of the jars, extracted once here instead of into /tmp on every call;
#   3. checks that no native file needs more than GLIBC_2.17 (rpm/check-glibc.sh);
#   4. makes the AOT cache from a training run through the real launcher (§1.6, §2.2);
#   5. packs the tree with rpmbuild and rpm/spdk-sr.spec.
# usage: mvn -B -DskipTests package && rpm/build.sh
#   SPDK_SR_JDK  the JDK to jlink from (default /usr/lib/jvm/temurin-25-jdk-amd64)
# Result: target/rpm/RPMS/x86_64/spdk-sr-<version>-<release>.x86_64.rpm (path printed at the end).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
jdk=${SPDK_SR_JDK:-/usr/lib/jvm/temurin-25-jdk-amd64}
out="$top/target/rpm"
tree="$out/tree"
glibc_max=2.17
# What the application needs at run time. jdeps (checked below) also names java.desktop, which
# only JNA's AWT helpers use; we never call them. java.sql is for sqlite-jdbc and pulls
# java.logging (JNA's logger) and java.xml with it. Nothing uses sun.misc.Unsafe, so no
# jdk.unsupported.
modules=java.base,java.logging,java.sql
optional_modules=java.desktop

die() { echo "rpm/build.sh: $*" >&2; exit 1; }

for tool in rpmbuild objdump readelf unzip; do
    command -v "$tool" >/dev/null || die "$tool is missing; install it with: apt-get install rpm binutils unzip"
done
[ -x "$jdk/bin/jlink" ] || die "no JDK with jlink at $jdk. Install a Temurin 25 JDK (an Adoptium tarball or the \
temurin-25-jdk package) or point SPDK_SR_JDK at one built for glibc <= $glibc_max. Never Debian's OpenJDK: it needs glibc 2.34."
"$top/rpm/check-glibc.sh" "$glibc_max" "$jdk/lib/server/libjvm.so" >/dev/null \
    || die "$jdk needs a glibc newer than $glibc_max and cannot run on an XCP-ng 8.x dom0; use a Temurin JDK."

app_jar=$(ls "$top"/packaging/target/spdk-sr-packaging-*.jar 2>/dev/null | grep -v -- '-sources\|-tests' | head -1 || true)
[ -n "$app_jar" ] && [ -d "$top/packaging/target/lib" ] \
    || die "no Maven build output in packaging/target; run first: mvn -B -DskipTests package"
mvn_version=$(basename "$app_jar" .jar)
mvn_version=${mvn_version#spdk-sr-packaging-}

SECONDS=0
echo "== staging the install tree in $tree"
rm -rf "$out"
mkdir -p "$out"
# No fourth argument: the simulation jar of the development tree stays out of the package.
"$top/packaging/stage.sh" "$tree" "$app_jar" "$top/packaging/target/lib" >/dev/null
lib="$tree/usr/share/spdk-sr/lib"
private="$tree/usr/lib/spdk-sr"
mkdir -p "$private"

echo "== modules: jdeps against the bundled list ($modules)"
needed=$("$jdk/bin/jdeps" --multi-release 25 --ignore-missing-deps --print-module-deps "$lib"/*.jar 2>/dev/null | tail -1)
for m in ${needed//,/ }; do
    case ",$modules,$optional_modules," in
        *",$m,"*) ;;
        *) die "jdeps says the jars need module $m, which the runtime lacks. If a call needs it, add it to \
'modules' in rpm/build.sh; if only an unused optional feature does, add it to 'optional_modules'." ;;
    esac
done
echo "   jdeps: $needed; bundled: $modules"

echo "== jlink runtime from $("$jdk/bin/java" -version 2>&1 | sed -n 2p)"
# No --compress: the classes that are not in the AOT cache are read at every start.
# --generate-cds-archive: the JDK's default CDS, the fallback if our AOT cache is ever unusable.
"$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
    --generate-cds-archive --output "$private/runtime" >/dev/null
# Shared libraries executable, as EL packages ship them (jlink leaves them 0644).
find "$private/runtime" -name '*.so' -exec chmod 0755 {} +

echo "== native libraries from the jars into usr/lib/spdk-sr/native"
mkdir -p "$private/native"
extract() { # <jar glob> <entry>
    local jar
    jar=$(ls "$lib"/$1 2>/dev/null | head -1 || true)
    [ -n "$jar" ] || die "no $1 in $lib; the launcher's native-library settings expect it"
    unzip -q -j -o -d "$private/native" "$jar" "$2" || die "$jar has no $2"
}
extract 'jna-*.jar' com/sun/jna/linux-x86-64/libjnidispatch.so
extract 'sqlite-jdbc-*.jar' org/sqlite/native/Linux/x86_64/libsqlitejdbc.so
chmod 0755 "$private/native"/*.so

echo "== glibc check (at most GLIBC_$glibc_max)"
"$top/rpm/check-glibc.sh" "$glibc_max" "$private" "$lib" | sed "s|$tree||"

echo "== AOT cache: training run through the launcher"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/tmp"
# java.io.tmpdir in the scratch directory shows whether a library still unpacks itself per call.
# No machine code in the cache (launcher.sh, spdk_sr_aot_data_only): it would be this machine's CPU's.
SPDK_SR_STATE_DIR="$scratch/state" SPDK_SR_JAVA_OPTS="-XX:AOTCacheOutput=$private/spdk-sr.aot -Djava.io.tmpdir=$scratch/tmp \
-XX:+UnlockDiagnosticVMOptions -XX:-AOTAdapterCaching -XX:-AOTStubCaching" \
    "$tree/usr/libexec/spdk-sr/spdk-sr-smapi" --aot-training "$scratch" >"$out/aot-training.log" 2>&1 \
    || die "the training run failed; its output is in $out/aot-training.log"
[ -s "$private/spdk-sr.aot" ] || die "no AOT cache was written; see $out/aot-training.log"
if ls "$scratch/tmp" | grep -q '\.so'; then
    die "a library unpacked a native library into java.io.tmpdir during training ($(ls "$scratch/tmp")); \
the launcher's jna/sqlite settings no longer match the jars"
fi
chmod 0644 "$private/spdk-sr.aot"
# The cache must be accepted as it is (AOTMode=on fails otherwise), through the shim.
echo '{"dbg":"rpm-build"}' | SPDK_SR_JAVA_OPTS=-XX:AOTMode=on \
    "$tree/usr/libexec/xapi-storage-script/volume/org.xen.xapi.storage.spdk/Plugin.Query" --json >/dev/null 2>"$out/aot-check.log" \
    || die "the bundled runtime refuses its AOT cache; see $out/aot-check.log"
echo "   $(du -h "$private/spdk-sr.aot" | cut -f1) cache, accepted by the runtime"

# RPM versions cannot contain '-': 0.1.0-SNAPSHOT becomes 0.1.0 with a pre-release, dated Release.
version=${mvn_version%-SNAPSHOT}
if [ "$version" != "$mvn_version" ]; then
    release="0.$(date -u +%Y%m%d%H%M).git$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo unknown)"
else
    release=1
fi

echo "== rpmbuild ($version-$release)"
mkdir -p "$out/rpmbuild"
rpmbuild -bb --quiet --target x86_64 \
    --define "_topdir $out/rpmbuild" \
    --define "_rpmdir $out/RPMS" \
    --define "spdk_sr_tree $tree" \
    --define "spdk_sr_top $top" \
    --define "spdk_sr_version $version" \
    --define "spdk_sr_release $release" \
    "$top/rpm/spdk-sr.spec" >"$out/rpmbuild.log" 2>&1 || { cat "$out/rpmbuild.log" >&2; die "rpmbuild failed (log above)"; }
rpm_file=$(ls "$out"/RPMS/x86_64/spdk-sr-*.x86_64.rpm)
echo "== built $rpm_file ($(du -h "$rpm_file" | cut -f1)) in ${SECONDS} s"
echo "   requires: $(rpm -qp --requires "$rpm_file" 2>/dev/null | grep -v '^rpmlib(' | paste -sd' ')"
echo "   test it:  mvn -B -pl tests -am -Dtest=RpmInstallTest -Dsurefire.failIfNoSpecifiedTests=false -Dspdksr.rpm=$rpm_file verify"
