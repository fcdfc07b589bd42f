#!/usr/bin/python3
# spdk-sr SMAPIv3 entry point. Every file in the plugin directories is a symlink to this one.
#
# It is Python, not a shell script, because with SMAPI tracing on xapi-storage-script loads
# entry points with runpy instead of executing them (smapiv3.md section 3.7), and it must run
# on the Python 3.6 of an XCP-ng 8.x dom0. It only works out which method it stands for and
# execs the Java launcher, so stdin, stdout and the exit status pass through untouched.
import os
import sys


def main():
    # __file__ is the symlink's own path both when executed and under runpy.run_path, and the
    # symlink name is the method; the directory two levels up says volume or datapath.
    entry = os.path.abspath(__file__)
    method = os.path.basename(entry)
    kind = os.path.basename(os.path.dirname(os.path.dirname(entry)))
    if kind not in ("volume", "datapath"):
        sys.stderr.write("spdk-sr: %s is not inside a volume/ or datapath/ plugin directory\n" % entry)
        sys.exit(2)
    args = sys.argv[1:]
    # A runner that leaves the script path in argv (as a wrapper may) must not pass it on.
    if args and os.path.abspath(args[0]) == entry:
        args = args[1:]
    launcher = os.path.join(os.path.dirname(os.path.realpath(__file__)), "spdk-sr-smapi")
    sys.stdout.flush()
    os.execv(launcher, [launcher, kind, method] + args)


if __name__ == "__main__":
    main()
