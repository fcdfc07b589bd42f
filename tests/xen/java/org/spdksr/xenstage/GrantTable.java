package org.spdksr.xenstage;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Xen's own account of a domain's grant table: the 'g' debug key prints, per domain, every entry
 * some domain has mapped (its pin count is not zero). Linux gntdev keeps no global count dom0 can
 * read, and a process that exited has no /proc left to look at; Xen's view holds whatever is
 * still mapped, by anyone.
 */
final class GrantTable {
    /** Linux keeps grant references 0-7 for the toolstack: the console and xenstore rings. */
    private static final int FIRST_GUEST_REF = 8;
    private static final Pattern ENTRY = Pattern.compile("\\[\\s*(0x)?([0-9a-f]+)\\]\\s+(\\d+)\\s");

    private final int domid;

    GrantTable(int domid) {
        this.domid = domid;
    }

    /**
     * Entries of the guest's table, past the toolstack's reserved ones, that dom0 has mapped now.
     *
     * @throws StageFailure when Xen's output does not hold the domain's table (the console ring
     *     wrapped): that is missing data, never zero
     */
    int mappedByDom0() throws IOException, InterruptedException {
        run("xl", "dmesg", "-c"); // clear the ring, so that it holds this dump and nothing older
        run("xl", "debug-keys", "g");
        Thread.sleep(300);
        String dump = run("xl", "dmesg", "-c");
        String header = "grant-table for remote d" + domid + " ";
        int at = dump.indexOf(header);
        if (at < 0) {
            throw new StageFailure("Xen's grant-table dump has no table for domain " + domid + " (" + dump.length()
                    + " bytes of console); cannot tell whether grants are still mapped");
        }
        int end = dump.indexOf("grant-table for remote d", at + header.length());
        if (end < 0) {
            end = dump.length();
        }
        int mapped = 0;
        for (String line : dump.substring(at, end).lines().toList()) {
            Matcher m = ENTRY.matcher(line);
            if (m.find()) {
                int ref = Integer.parseInt(m.group(2), m.group(1) != null ? 16 : 10);
                int mapper = Integer.parseInt(m.group(3));
                if (ref >= FIRST_GUEST_REF && mapper == 0) {
                    mapped++;
                }
            }
        }
        return mapped;
    }

    private static String run(String... command) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(command)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " exited with " + p.exitValue() + ": " + out);
        }
        return out;
    }
}
