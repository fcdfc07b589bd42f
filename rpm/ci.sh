#!/usr/bin/env bash
# CI step for the RPM, separate from .ci/run: it needs a Temurin 25 JDK, which Debian does not
# package (rpm/README.md). Installs with apt what it needs, builds the jars, the RPM, and runs
# RpmInstallTest against it.
# usage: rpm/ci.sh            (SPDK_SR_JDK=<Temurin JDK directory> if not /usr/lib/jvm/temurin-25-jdk-amd64)
set -euo pipefail
cd "$(dirname "$0")/.."

export DEBIAN_FRONTEND=noninteractive
apt_packages=(
    rpm        # rpmbuild, rpm2cpio, rpm -qp
    binutils   # objdump, readelf: the glibc check
    unzip      # native libraries out of the jars
    cpio       # unpacking the RPM in the test
    rpmlint    # the test runs it when present
    python3    # the entry-point shim
)
missing=()
for p in "${apt_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}"
fi

mvn -B -q -DskipTests package
rpm/build.sh
rpm_file=$(ls -t target/rpm/RPMS/x86_64/spdk-sr-*.x86_64.rpm | head -1)
mvn -B -pl tests -am -Dtest=RpmInstallTest -Dsurefire.failIfNoSpecifiedTests=false -Dspdksr.rpm="$rpm_file" verify
