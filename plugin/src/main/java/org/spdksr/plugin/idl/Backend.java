package org.spdksr.plugin.idl;

import java.util.List;

/** {@code Datapath.attach} result; the first {@code XenDisk} is the one xenopsd uses (smapiv3.md §7.2). */
public record Backend(List<Implementation> implementations) {
    public Backend {
        implementations = List.copyOf(implementations);
    }
}
