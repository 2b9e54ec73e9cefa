package dev.castellan.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The {@code castellan} command as a person runs it: a separate JVM from the test classpath, in a
 * working directory of the test's own (so the default {@code ./data} is the test's), with none of
 * the {@code CASTELLAN_*} variables of the environment the tests run in.
 */
final class Cli {
  /** What one run printed and how it ended. */
  record Result(int exit, String out, String err) {
    /** The lines on stderr, log lines left out (they start with a time, as logback writes them). */
    List<String> errorLines() {
      return err.lines().filter(line -> !line.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*")).toList();
    }

    @Override
    public String toString() {
      return "exit " + exit + "\n--- stdout\n" + out + "--- stderr\n" + err;
    }
  }

  private Cli() {}

  static Result run(Path workDir, String... args) throws IOException, InterruptedException {
    return run(workDir, Map.of(), args);
  }

  /** Runs to the end (at most two minutes); {@code env} adds variables to the clean environment. */
  static Result run(Path workDir, Map<String, String> env, String... args)
      throws IOException, InterruptedException {
    Process process = start(workDir, env, args);
    CompletableFuture<String> out = drain(process.getInputStream());
    CompletableFuture<String> err = drain(process.getErrorStream());
    if (!process.waitFor(120, TimeUnit.SECONDS)) {
      process.destroyForcibly();
      throw new AssertionError("castellan " + String.join(" ", args) + " did not end in 2 minutes");
    }
    return new Result(process.exitValue(), out.join(), err.join());
  }

  static Process start(Path workDir, Map<String, String> env, String... args) throws IOException {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    if (Runtime.version().feature() >= 24) {
      // As ./castellan does: protobuf (under CEL) would warn about sun.misc.Unsafe on stderr.
      command.add("--sun-misc-unsafe-memory-access=allow");
    }
    command.add("-XX:TieredStopAtLevel=1"); // short runs: start fast rather than run fast
    command.add("-cp");
    command.add(System.getProperty("java.class.path"));
    command.add("dev.castellan.cli.Main");
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).directory(workDir.toFile());
    Map<String, String> environment = builder.environment();
    environment.keySet().removeIf(name -> name.startsWith("CASTELLAN_"));
    environment.putAll(new HashMap<>(env));
    return builder.start();
  }

  /** Reads a stream to its end on a thread of its own, so neither pipe can fill and block. */
  private static CompletableFuture<String> drain(java.io.InputStream stream) {
    CompletableFuture<String> text = new CompletableFuture<>();
    Thread.ofVirtual()
        .start(
            () -> {
              try {
                text.complete(new String(stream.readAllBytes(), StandardCharsets.UTF_8));
              } catch (IOException e) {
                text.complete("");
              }
            });
    return text;
  }
}
