package org.spdksr.tests;

/**
 * A failed call as xapi would receive it, with the run it came from so that a failing test
 * shows the plugin's stderr (XSS logs stderr only on failure, §3.1).
 */
public class StorageException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final transient ErrorRecord error;
    private final transient ScriptRun run;

    public StorageException(ErrorRecord error, ScriptRun run) {
        super(describe(error, run));
        this.error = error;
        this.run = run;
    }

    public ErrorRecord error() {
        return error;
    }

    /** Null when the emulation failed before running anything (SCRIPT_MISSING, ...). */
    public ScriptRun run() {
        return run;
    }

    public String code() {
        return error.code();
    }

    private static String describe(ErrorRecord error, ScriptRun run) {
        StringBuilder sb = new StringBuilder(error.code()).append(' ').append(error.params());
        if (!error.backtraceError().isEmpty()) {
            sb.append(" backtrace=").append(error.backtraceError());
        }
        if (run != null) {
            sb.append("\n  script: ").append(run.script())
              .append("\n  stdin: ").append(run.stdin())
              .append("\n  exit: ").append(run.exitCode())
              .append("\n  stdout: ").append(run.stdout())
              .append("\n  stderr: ").append(tail(run.stderr()));
        }
        return sb.toString();
    }

    private static String tail(String s) {
        return s.length() <= 4000 ? s : "..." + s.substring(s.length() - 4000);
    }
}
