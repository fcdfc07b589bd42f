package org.spdksr.plugin.idl;

import java.util.Map;

/** One way to reach an attached volume, as returned in {@code Datapath.attach} (smapiv3.md §4.1, §7). */
public sealed interface Implementation extends WireVariant {

    /** What xenopsd needs to write the guest's backend nodes; mandatory for a guest disk (§7.2). */
    record XenDisk(String params, Map<String, String> extra, String backendType) implements Implementation {
        public XenDisk {
            extra = Map.copyOf(extra);
        }

        @Override
        public String constructor() {
            return "XenDisk";
        }

        @Override
        public Object argument() {
            return this;
        }
    }

    record BlockDevice(String path) implements Implementation {
        @Override
        public String constructor() {
            return "BlockDevice";
        }

        @Override
        public Object argument() {
            return this;
        }
    }

    record File(String path) implements Implementation {
        @Override
        public String constructor() {
            return "File";
        }

        @Override
        public Object argument() {
            return this;
        }
    }

    /** {@code uri} has exactly four colon-separated parts: {@code nbd:unix:<socket>:exportname=<name>}. */
    record Nbd(String uri) implements Implementation {
        @Override
        public String constructor() {
            return "Nbd";
        }

        @Override
        public Object argument() {
            return this;
        }
    }
}
