#!/usr/bin/env bash
# Lays out the install tree exactly as on an XCP-ng host under <root>:
#   usr/libexec/spdk-sr/{smapi-shim.py,spdk-sr-smapi}   the shim and the Java launcher
#   usr/libexec/spdk-sr/spdk-sr-blkifd                  blkifd, started by Datapath.attach
#   usr/sbin/spdk-sr                                     the operator command (spdk-sr status)
#   usr/share/spdk-sr/lib/*.jar                          the application and its libraries
#   usr/libexec/xapi-storage-script/volume/org.xen.xapi.storage.spdk/<Method>   symlinks to the shim
#   usr/libexec/xapi-storage-script/datapath/spdk-sr/<Method>                   symlinks to the shim
#   usr/lib/systemd/system/spdk-sr-tgt.service           spdk_tgt with the saved configuration
# Used by `mvn package` (target/root) and by the RPM build, so both trees are the same.
# usage: stage.sh <root> <application jar> <directory of library jars>
set -euo pipefail
root=$1
app_jar=$2
lib_dir=$3
here=$(cd "$(dirname "$0")" && pwd)

rm -rf "$root/usr/libexec/spdk-sr" "$root/usr/share/spdk-sr" "$root/usr/libexec/xapi-storage-script"
rm -f "$root/usr/lib/systemd/system/spdk-sr-tgt.service" "$root/usr/sbin/spdk-sr"
install -d "$root/usr/libexec/spdk-sr" "$root/usr/share/spdk-sr/lib"
install -m 0755 "$here/src/main/sh/smapi-shim.py" "$root/usr/libexec/spdk-sr/smapi-shim.py"
install -m 0755 "$here/src/main/sh/spdk-sr-smapi" "$root/usr/libexec/spdk-sr/spdk-sr-smapi"
install -m 0755 "$here/src/main/sh/spdk-sr-blkifd" "$root/usr/libexec/spdk-sr/spdk-sr-blkifd"
install -d "$root/usr/sbin"
install -m 0755 "$here/src/main/sh/spdk-sr" "$root/usr/sbin/spdk-sr"
install -m 0644 "$app_jar" "$lib_dir"/*.jar "$root/usr/share/spdk-sr/lib/"
install -d "$root/usr/lib/systemd/system"
install -m 0644 "$here/systemd/spdk-sr-tgt.service" "$root/usr/lib/systemd/system/spdk-sr-tgt.service"

# The method list comes from the Java method tables, so a new method cannot miss its entry point.
"$root/usr/libexec/spdk-sr/spdk-sr-smapi" --entry-points | while read -r kind method; do
    case "$kind" in
        volume) dir="$root/usr/libexec/xapi-storage-script/volume/org.xen.xapi.storage.spdk" ;;
        datapath) dir="$root/usr/libexec/xapi-storage-script/datapath/spdk-sr" ;;
        *) echo "stage.sh: unexpected entry point line: $kind $method" >&2; exit 1 ;;
    esac
    install -d "$dir"
    ln -sfn ../../../spdk-sr/smapi-shim.py "$dir/$method"
done
test -e "$root/usr/libexec/xapi-storage-script/volume/org.xen.xapi.storage.spdk/Plugin.Query"
test -e "$root/usr/libexec/xapi-storage-script/datapath/spdk-sr/Plugin.Query"
echo "staged install tree in $root"
