package org.spdksr.datapath.sim.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** fio on the same file with the same pattern and depth, for the comparison column. */
final class FioRun {
    private final Path file;
    private final long sizeBytes;

    FioRun(Path file, long sizeBytes) {
        this.file = file;
        this.sizeBytes = sizeBytes;
    }

    Result run(Workload workload, int depth, double warmupSeconds, double seconds) throws IOException, InterruptedException {
        List<String> argv = List.of("fio", "--name=bench", "--filename=" + file, "--size=" + sizeBytes,
                "--rw=" + workload.fioRw(), "--bs=" + workload.bytes(), "--iodepth=" + depth,
                // io_uring with page cache, as blkifd's file device does buffered I/O by default.
                "--ioengine=io_uring", "--direct=0", "--time_based", "--ramp_time=" + warmupSeconds,
                "--runtime=" + seconds, "--output-format=json");
        Process process = new ProcessBuilder(argv).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        byte[] out = process.getInputStream().readAllBytes();
        if (!process.waitFor((long) (warmupSeconds + seconds) + 60, TimeUnit.SECONDS) || process.exitValue() != 0) {
            throw new IOException("fio failed for " + workload.name() + " at depth " + depth + ": "
                    + new String(out, StandardCharsets.UTF_8));
        }
        JsonNode job = new ObjectMapper().readTree(out).get("jobs").get(0).get(workload.write() ? "write" : "read");
        double iops = job.get("iops").asDouble();
        return new Result(Math.round(iops * seconds), Math.round(iops * seconds) * workload.bytes(), seconds);
    }
}
