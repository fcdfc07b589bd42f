package org.spdksr.plugin.protocol;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs one call the way xapi-storage-script makes it (smapiv3.md §3): the arguments come as JSON
 * on stdin ({@code --json}) or positionally (static-vdis, §3.8); the bare result or the error
 * record goes to stdout and nothing else does; the exit status says which of the two it is.
 */
public final class EntryPointRunner {
    private static final Logger LOG = LoggerFactory.getLogger(EntryPointRunner.class);

    /** Exit status for an error record; any non-zero value tells xapi-storage-script to parse one. */
    public static final int EXIT_ERROR = 1;

    private final MethodTable methods;
    private final ObjectMapper json;
    private final RequestReader requests;

    public EntryPointRunner(MethodTable methods, ObjectMapper json) {
        this.methods = methods;
        this.json = json;
        this.requests = new RequestReader(json);
    }

    /**
     * @param methodName the entry point's file name (the symlink the shim was started as)
     * @param argv the entry point's arguments: {@code ["--json"]} or the positional form
     * @return the process exit status
     */
    public int run(String methodName, List<String> argv, InputStream stdin, OutputStream stdout) {
        Reply reply;
        try {
            reply = new Reply.Result(invoke(methodName, argv, stdin));
        } catch (SmapiException e) {
            LOG.error("{} failed: {}", methodName, e.getMessage(), e.getCause());
            reply = new Reply.Failure(e.toRecord());
        } catch (Exception | LinkageError | AssertionError | StackOverflowError e) {
            // StackOverflowError too: a pathological input must still get an error record (issue 19).
            // The stack trace belongs in the log (stderr, which xapi-storage-script logs on failure),
            // never on stdout.
            LOG.error("{} failed unexpectedly", methodName, e);
            String message = methodName + " failed unexpectedly (" + e + "). The stack trace is in the "
                    + "xapi-storage-script log; please report it with that log.";
            reply = new Reply.Failure(new StorageError.BackendFailure("SR_BACKEND_FAILURE", "Internal_error", methodName)
                    .toRecord(message));
        }
        return write(reply, stdout);
    }

    private Object invoke(String methodName, List<String> argv, InputStream stdin) throws Exception {
        Method method = methods.find(methodName).orElseThrow(() -> new SmapiException(
                new StorageError.Unimplemented(methodName),
                methodName + " is not a method of this plugin. Check that the plugin's entry points and the "
                        + "installed spdk-sr package are from the same version."));
        MethodSpec spec = method.spec();
        Arguments arguments;
        if (argv.equals(List.of("--json"))) {
            arguments = ArgumentDecoder.fromJson(spec, requests.read(spec, stdin));
        } else {
            arguments = ArgumentDecoder.fromPositional(spec, argv);
        }
        LOG.info("{} dbg={}", spec.name(), firstLine(arguments.dbg()));
        return method.handler().handle(arguments);
    }

    private int write(Reply reply, OutputStream stdout) {
        try {
            byte[] bytes = json.writeValueAsBytes(reply.payload());
            stdout.write(bytes);
            stdout.write('\n');
            stdout.flush();
        } catch (IOException e) {
            LOG.error("cannot write the reply to stdout", e);
            return EXIT_ERROR;
        }
        return reply instanceof Reply.Result ? 0 : EXIT_ERROR;
    }

    private static String firstLine(String dbg) {
        // With tracing, dbg is "<text>\n<trace-context JSON>" (§3.6); the first line is the useful part.
        int newline = dbg.indexOf('\n');
        return newline < 0 ? dbg : dbg.substring(0, newline);
    }

    /** What goes to stdout: the bare result, or the error record with a non-zero exit. */
    private sealed interface Reply {
        Object payload();

        record Result(Object payload) implements Reply {}

        record Failure(ErrorRecord payload) implements Reply {}
    }
}
