#!/usr/bin/env bash
# Lays out the install tree exactly as on an XCP-ng host under <root>:
#   usr/libexec/spdk-sr/{smapi-shim.py,spdk-sr-smapi}   the shim and the Java launcher
#   usr/libexec/spdk-sr/spdk-sr-blkifd                  blkifd, started by Datapath.attach
#   usr/sbin/spdk-sr                                     the operator command (spdk-sr status)
#   usr/share/spdk-sr/lib/*.jar                          the application and its libraries
#   usr/share/spdk-sr/classpath                          their order on the class path (the launchers')
#   usr/share/spdk-sr/launcher.sh                        what the three launchers share (sourced, 0644)
#   usr/libexec/xapi-storage-script/volume/org.xen.xapi.storage.spdk/<Method>   symlinks to the shim
#   usr/libexec/xapi-storage-script/datapath/spdk-sr/<Method>                   symlinks to the shim
#   usr/lib/systemd/system/spdk-sr-tgt.service           spdk_tgt with the saved configuration
#   usr/lib/systemd/system/spdk-sr-blkifd@.service       the per-VM block backend, in vm.slice
#   etc/spdk-sr/spdk-sr.conf                             host settings the launchers read
#   etc/logrotate.d/spdk-sr                              rotation of /var/log/spdk-sr/*.log
# Used by `mvn package` (target/root) and by the RPM build (rpm/build.sh, which adds the bundled
# runtime under usr/lib/spdk-sr), so both trees are the same but for one thing: the development
# tree also has the simulation jar (simulated Xen, guest, benchmark) that the demo, the suites and
# tests/bench run blkifd with, passed as the fourth argument; the RPM build passes none.
# usage: stage.sh <root> <application jar> <directory of library jars> [<directory of development jars>]
set -euo pipefail
root=$1
app_jar=$2
lib_dir=$3
dev_lib_dir=${4:-}
here=$(cd "$(dirname "$0")" && pwd)

rm -rf "$root/usr/libexec/spdk-sr" "$root/usr/share/spdk-sr" "$root/usr/libexec/xapi-storage-script"
rm -f "$root/usr/lib/systemd/system/spdk-sr-tgt.service" "$root/usr/lib/systemd/system/spdk-sr-blkifd@.service"
rm -f "$root/etc/spdk-sr/spdk-sr.conf" "$root/etc/logrotate.d/spdk-sr" "$root/usr/sbin/spdk-sr"
install -d "$root/usr/libexec/spdk-sr" "$root/usr/share/spdk-sr/lib"
install -m 0755 "$here/src/main/sh/smapi-shim.py" "$root/usr/libexec/spdk-sr/smapi-shim.py"
install -m 0755 "$here/src/main/sh/spdk-sr-smapi" "$root/usr/libexec/spdk-sr/spdk-sr-smapi"
install -m 0755 "$here/src/main/sh/spdk-sr-blkifd" "$root/usr/libexec/spdk-sr/spdk-sr-blkifd"
install -d "$root/usr/sbin"
install -m 0755 "$here/src/main/sh/spdk-sr" "$root/usr/sbin/spdk-sr"
install -m 0644 "$here/src/main/sh/launcher.sh" "$root/usr/share/spdk-sr/launcher.sh"
install -m 0644 "$app_jar" "$lib_dir"/*.jar "$root/usr/share/spdk-sr/lib/"
if [ -n "$dev_lib_dir" ]; then
    install -m 0644 "$dev_lib_dir"/*.jar "$root/usr/share/spdk-sr/lib/"
fi
# A fixed class-path order, independent of the directory's and of the locale: an AOT cache is
# only used with the class path it was made with (xcp-ng-host.md §2.2).
(cd "$root/usr/share/spdk-sr/lib" && ls -1 -- *.jar | LC_ALL=C sort) >"$root/usr/share/spdk-sr/classpath"
chmod 0644 "$root/usr/share/spdk-sr/classpath"
install -d "$root/usr/lib/systemd/system"
install -m 0644 "$here/systemd/spdk-sr-tgt.service" "$root/usr/lib/systemd/system/spdk-sr-tgt.service"
install -m 0644 "$here/systemd/spdk-sr-blkifd@.service" "$root/usr/lib/systemd/system/spdk-sr-blkifd@.service"
install -d "$root/etc/spdk-sr"
install -m 0644 "$here/etc/spdk-sr.conf" "$root/etc/spdk-sr/spdk-sr.conf"
install -d "$root/etc/logrotate.d"
install -m 0644 "$here/etc/spdk-sr.logrotate" "$root/etc/logrotate.d/spdk-sr"

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
