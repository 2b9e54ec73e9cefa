package dev.castellan.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * README.md's five-minute tour, read from the README itself and run as a reader runs it: the first
 * command ({@code ./castellan serve ...}) in one terminal, every later command in a second bash, in
 * a fresh directory (so {@code ./data} is new), against the real server. An edit to the tour is
 * tested by the next build.
 *
 * <p>How the README is read: in each fenced block, a command (with its {@code \} continuations) is
 * followed by the output it should print, as {@code # } comments. Each such line must match a line
 * of the real output, in order ({@code ...} matches anything, a number any number); a command
 * without them must end with exit code 0 and print no error body. Values the reader copies from the
 * server's output ({@code cst_...}, {@code 01...}) are taken from the line the README shows them
 * on. A block whose lead-in says to stop the server runs after the server was stopped.
 *
 * <p>What differs from a reader's machine, and only that: {@code ./castellan} is a script running
 * this build's classes, and the server listens on a free port of 127.0.0.1 ({@code CASTELLAN_PORT}
 * and {@code CASTELLAN_HOST}), which replaces {@code localhost:8080} in the commands.
 */
class ReadmeTourTest {
  private static final Path README = Path.of("..", "README.md");
  private static final String TOUR = "## A five-minute tour";
  private static final Pattern SERVING = Pattern.compile("serving on http://[^:]+:(\\d+)");
  private static final Pattern STEP_END = Pattern.compile("@@step-end (\\d+)@@");
  private static final Pattern PLACEHOLDER = Pattern.compile("([A-Za-z0-9_]+)\\.\\.\\.");
  private static final long STEP_SECONDS = 120;

  /** How the project's own tracker is spoken of ("issue 3", "seed 000"): no newcomer knows it. */
  static final String INTERNAL_WORDS = "(?i)\\b(issue|seed) #?\\d+";

  /** A command as the reader types it, and the output lines the README shows for it. */
  record Step(String command, List<String> expected) {}

  /** A fenced block of the tour and the prose just before it. */
  record Block(String leadIn, List<Step> steps) {}

  @TempDir Path dir;

  @Test
  void theFiveMinuteTour_runsAsWritten() throws Exception {
    List<Block> tour = tour(Files.readString(README));
    Step serve = tour.getFirst().steps().getFirst();
    assertThat(serve.command()).startsWith("./castellan serve");
    assertThat(tour.stream().flatMap(b -> b.steps().stream()).filter(s -> !s.expected().isEmpty()))
        .as("steps whose output the README shows")
        .hasSizeGreaterThanOrEqualTo(5);
    writeLauncher();

    Map<String, String> copied = new LinkedHashMap<>(); // "cst_..." -> the key the server printed
    Terminal server =
        Terminal.start(dir, Map.of("CASTELLAN_PORT", "0", "CASTELLAN_HOST", "127.0.0.1"));
    Terminal shell = Terminal.start(dir, Map.of());
    int port = -1;
    try {
      server.type("exec " + serve.command());
      port = expectServer(server, serve.expected(), copied);
      assertThat(copied).as("values the reader copies").containsKeys("cst_...");
      boolean first = true;
      for (Block block : tour) {
        if (block.leadIn().toLowerCase(java.util.Locale.ROOT).contains("stop the server")) {
          server.stop();
        }
        for (Step step : block.steps()) {
          if (first) {
            first = false; // the serve step, run above
            continue;
          }
          String command = substitute(step.command(), port, copied);
          assertThat(command).as("a value the test cannot fill in").doesNotContain("...");
          List<String> output = shell.run(command);
          String shown = step.command() + "\n" + String.join("\n", output);
          assertThat(shell.lastExit()).as(shown).isZero();
          if (step.expected().isEmpty()) {
            assertThat(String.join("\n", output)).as(shown).doesNotStartWith("{\"code\":");
          } else {
            assertMatchesInOrder(output, step.expected(), port, copied, shown);
          }
        }
      }
    } finally {
      shell.stop();
      server.stop();
    }
  }

  /** Regression: the README spoke of "issue 3", "issue 4" and "seed 000", so did the example. */
  @Test
  void theReadmeAndTheExamples_speakNoInternalWords() throws IOException {
    List<Path> files = new ArrayList<>(List.of(README));
    try (var walk = Files.walk(Path.of("..", "examples"))) {
      walk.filter(Files::isRegularFile)
          .filter(f -> !f.toString().contains("/target/") && !f.toString().contains("/src/"))
          .forEach(files::add);
    }
    assertThat(files).hasSizeGreaterThan(5);
    for (Path file : files) {
      assertThat(Files.readString(file)).as(file.toString()).doesNotContainPattern(INTERNAL_WORDS);
    }
  }

  /** The tour section's fenced blocks, each with its command steps and the lines they print. */
  static List<Block> tour(String readme) {
    int start = readme.indexOf("\n" + TOUR + "\n");
    assertThat(start).as("README.md has the heading '" + TOUR + "'").isNotNegative();
    int end = readme.indexOf("\n## ", start + 1);
    List<String> lines = readme.substring(start, end < 0 ? readme.length() : end).lines().toList();
    List<Block> blocks = new ArrayList<>();
    StringBuilder prose = new StringBuilder();
    for (int i = 0; i < lines.size(); i++) {
      if (!lines.get(i).startsWith("```bash")) {
        prose.append(lines.get(i)).append('\n');
        continue;
      }
      List<Step> steps = new ArrayList<>();
      String command = null;
      List<String> expected = new ArrayList<>();
      for (i++; !lines.get(i).startsWith("```"); i++) {
        String line = lines.get(i);
        if (line.isBlank()) {
          continue;
        }
        if (line.startsWith("#")) {
          if (command != null) {
            expected.add(line.substring(1).strip());
          } // a comment before any command is a remark, not output
        } else if (command != null && command.endsWith("\\") && expected.isEmpty()) {
          command = command + "\n" + line;
        } else {
          if (command != null) {
            steps.add(new Step(command, List.copyOf(expected)));
          }
          command = line;
          expected.clear();
        }
      }
      if (command != null) {
        steps.add(new Step(command, List.copyOf(expected)));
      }
      blocks.add(new Block(prose.toString(), steps));
      prose.setLength(0);
    }
    assertThat(blocks).as("the tour's blocks").isNotEmpty();
    return blocks;
  }

  /** {@code ./castellan} in the directory: this build's CLI, as the launcher would run it. */
  private void writeLauncher() throws IOException {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    String classPath = System.getProperty("java.class.path");
    assertThat(java + classPath).doesNotContain("'");
    String flags =
        Runtime.version().feature() >= 24 ? "--sun-misc-unsafe-memory-access=allow " : "";
    Path launcher = dir.resolve("castellan");
    Files.writeString(
        launcher,
        "#!/bin/sh\nexec '"
            + java
            + "' "
            + flags
            + "-cp '"
            + classPath
            + "' dev.castellan.cli.Main \"$@\"\n");
    Files.setPosixFilePermissions(launcher, PosixFilePermissions.fromString("rwx------"));
  }

  /**
   * Reads the server's output until the README's lines for it are all seen, in order; returns its
   * port and records the values the README shows as {@code cst_...} and the like.
   */
  private static int expectServer(
      Terminal server, List<String> expected, Map<String, String> copied)
      throws InterruptedException {
    int port = -1;
    int next = 0;
    StringBuilder seen = new StringBuilder();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STEP_SECONDS);
    while (next < expected.size()) {
      String line = server.poll(deadline);
      assertThat(line).as("the server printed, then stopped or went quiet:\n" + seen).isNotNull();
      seen.append(line).append('\n');
      Matcher serving = SERVING.matcher(line);
      if (port < 0 && serving.find()) {
        port = Integer.parseInt(serving.group(1));
      }
      if (port > 0 && matches(expected.get(next), line, port, copied)) {
        next++;
      }
    }
    return port;
  }

  private static void assertMatchesInOrder(
      List<String> output,
      List<String> expected,
      int port,
      Map<String, String> copied,
      String shown) {
    int next = 0;
    for (String line : output) {
      if (next < expected.size() && matches(expected.get(next), line, port, copied)) {
        next++;
      }
    }
    assertThat(next)
        .as(
            "README line not printed: "
                + (next < expected.size() ? expected.get(next) : "")
                + "\nwhat ran and printed:\n"
                + shown)
        .isEqualTo(expected.size());
  }

  /**
   * Whether {@code actual} is the README's {@code expected} line: {@code ...} matches anything, a
   * number any number; on a match, records each {@code word...} with the text it stood for.
   */
  static boolean matches(String expected, String actual, int port, Map<String, String> copied) {
    String text = expected.replace("localhost:8080", "127.0.0.1:" + port);
    StringBuilder regex = new StringBuilder();
    List<String> names = new ArrayList<>();
    Matcher token = Pattern.compile("([A-Za-z0-9_]*)\\.\\.\\.|\\d+").matcher(text);
    int at = 0;
    while (token.find()) {
      regex.append(Pattern.quote(text.substring(at, token.start())));
      if (token.group().endsWith("...")) {
        regex.append("(").append(Pattern.quote(token.group(1))).append(".*?)");
        names.add(token.group());
      } else {
        regex.append("\\d+");
      }
      at = token.end();
    }
    regex.append(Pattern.quote(text.substring(at)));
    Matcher matcher = Pattern.compile(regex.toString()).matcher(actual.strip());
    if (!matcher.matches()) {
      return false;
    }
    for (int i = 0; i < names.size(); i++) {
      if (!names.get(i).equals("...") && !matcher.group(i + 1).isBlank()) {
        copied.putIfAbsent(names.get(i), matcher.group(i + 1));
      }
    }
    return true;
  }

  /** The command as the reader runs it: their server's address, the values they copied. */
  private static String substitute(String command, int port, Map<String, String> copied) {
    String result = command.replace("localhost:8080", "127.0.0.1:" + port);
    Matcher placeholder = PLACEHOLDER.matcher(result);
    StringBuilder out = new StringBuilder();
    while (placeholder.find()) {
      String value = copied.getOrDefault(placeholder.group(), placeholder.group());
      placeholder.appendReplacement(out, Matcher.quoteReplacement(value));
    }
    placeholder.appendTail(out);
    return out.toString();
  }

  /** A bash in the tour's directory, typed into line by line; its output read line by line. */
  private static final class Terminal {
    private final Process process;
    private final Writer input;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
    private static final String END = "\u0000end";
    private int lastExit = -1;

    private Terminal(Process process) {
      this.process = process;
      this.input = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
      Thread.ofVirtual().start(() -> drain(process.getInputStream()));
    }

    static Terminal start(Path dir, Map<String, String> env) throws IOException {
      ProcessBuilder builder =
          new ProcessBuilder("bash", "--noprofile", "--norc", "-s")
              .directory(dir.toFile())
              .redirectErrorStream(true);
      builder.environment().keySet().removeIf(name -> name.startsWith("CASTELLAN_"));
      builder.environment().remove("STORE");
      builder.environment().remove("H");
      builder.environment().putAll(env);
      return new Terminal(builder.start());
    }

    private void drain(InputStream stream) {
      try (BufferedReader reader =
          new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
        String line;
        while ((line = reader.readLine()) != null) {
          lines.add(line);
        }
      } catch (IOException e) {
        // the shell ended
      }
      lines.add(END);
    }

    void type(String command) throws IOException {
      input.write(command + "\n");
      input.flush();
    }

    /** The next line printed, or null when the output ended or the deadline passed. */
    String poll(long deadline) throws InterruptedException {
      String line = lines.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
      if (line == null || line.equals(END)) {
        return null;
      }
      return line;
    }

    /** Runs one command to its end; the lines it printed. */
    List<String> run(String command) throws IOException, InterruptedException {
      type(command);
      type("printf '\\n@@step-end %s@@\\n' \"$?\"");
      List<String> output = new ArrayList<>();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STEP_SECONDS);
      while (true) {
        String line = poll(deadline);
        assertThat(line).as("'" + command + "' did not end; it printed:\n" + output).isNotNull();
        Matcher end = STEP_END.matcher(line);
        if (end.matches()) {
          lastExit = Integer.parseInt(end.group(1));
          if (!output.isEmpty() && output.getLast().isEmpty()) {
            output.removeLast(); // the line break printed before the marker
          }
          return output;
        }
        output.add(line);
      }
    }

    int lastExit() {
      return lastExit;
    }

    /** Ends it as Ctrl-C in a terminal would end the program running there (its JVM). */
    void stop() throws InterruptedException {
      if (!process.isAlive()) {
        return;
      }
      process.descendants().forEach(ProcessHandle::destroy);
      process.destroy();
      if (!process.waitFor(30, TimeUnit.SECONDS)) {
        process.destroyForcibly();
        process.waitFor(10, TimeUnit.SECONDS);
      }
    }
  }
}
