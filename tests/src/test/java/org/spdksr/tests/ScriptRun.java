package org.spdksr.tests;

import java.nio.file.Path;

/** The raw facts of one child-process run: what XSS gets back from {@code Process.run}. */
public record ScriptRun(Path script, String method, String stdin, int exitCode, String stdout, String stderr) {
    /** Something a Java launcher must never print on stdout (issue 2: "never a stack trace"). */
    public boolean stdoutHasStackTrace() {
        return stdout.contains("\tat ") || stdout.contains("at org.") || stdout.contains("at java.")
                || stdout.contains("Exception in thread");
    }
}
