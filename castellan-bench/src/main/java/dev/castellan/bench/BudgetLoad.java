package dev.castellan.bench;

import dev.castellan.model.ModelDsl;
import dev.castellan.model.ModelJson;
import dev.castellan.server.CastellanServer;
import dev.castellan.store.MemoryStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Evaluation budgets: does the server stay responsive while pathological evaluations saturate its
 * CPU?
 *
 * <p>{@code --pathological N} connections (default 8) each send, back to back, a check that runs
 * until its budget stops it: a writer's 130-tuple parent graph, two folders wide, whose walk has
 * 2^25 paths (the case). Meanwhile {@code /healthz} is probed and ordinary checks on
 * another store are sent at fixed rates ({@code --health-rate}, {@code --check-rate} per second,
 * each on its own keep-alive connection), and their latency is measured from the time each was
 * scheduled, not sent, so a stalled server is charged for the requests it delayed. Targets: {@code
 * /healthz} p99 <= 100 ms, ordinary checks p99 <= 50 ms.
 *
 * <p>The server runs in this JVM with its default settings (1 s check deadline, 1,000,000 steps);
 * {@code -Dcastellan.evaluation.share=false} lets long evaluations hold every carrier (see {@code
 * Budget}), to measure what sharing them does. Other options: {@code --warmup S} (default 5),
 * {@code --duration S} (default 30).
 *
 * <p>Run: {@code java -cp castellan-benchmarks.jar dev.castellan.bench.BudgetLoad}.
 */
public final class BudgetLoad {
  static final String TOKEN = "bench-bootstrap-token-0123456789";

  private BudgetLoad() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> options = options(args);
    int pathological = Integer.parseInt(options.getOrDefault("pathological", "8"));
    int warmup = Integer.parseInt(options.getOrDefault("warmup", "5"));
    int duration = Integer.parseInt(options.getOrDefault("duration", "30"));
    double healthRate = Double.parseDouble(options.getOrDefault("health-rate", "50"));
    double checkRate = Double.parseDouble(options.getOrDefault("check-rate", "100"));

    try (CastellanServer server =
        CastellanServer.start(
            CastellanServer.Options.defaults()
                .withPort(0)
                .withHost("127.0.0.1")
                .withBootstrapToken(TOKEN),
            new MemoryStore())) {
      int port = server.port();
      String slowStore = store(port, FOLDERS);
      write(port, slowStore, parentLadder(130));
      String fastStore = store(port, ORDINARY);
      write(
          port,
          fastStore,
          List.of(
              new String[] {"group:eng", "member", "user:anne"},
              new String[] {"doc:1", "viewer", "group:eng#member"},
              new String[] {"doc:2", "viewer", "user:bob"}));

      byte[] slow = post(port, "/stores/" + slowStore + "/check", check("folder:32_0", "viewer"));
      byte[] fast = post(port, "/stores/" + fastStore + "/check", check("doc:1", "viewer"));
      byte[] health =
          ("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:" + port + "\r\n\r\n")
              .getBytes(StandardCharsets.US_ASCII);

      System.out.printf(
          Locale.ROOT,
          "BudgetLoad: %d pathological connections, /healthz at %.0f/s, ordinary checks at %.0f/s,"
              + " warmup %d s, measured %d s; %d cores, Java %s, share %s%n",
          pathological,
          healthRate,
          checkRate,
          warmup,
          duration,
          Runtime.getRuntime().availableProcessors(),
          Runtime.version(),
          System.getProperty("castellan.evaluation.share", "true"));
      System.out.println("load average before: " + loadAverage());

      Phase phase = new Phase();
      List<Thread> threads = new ArrayList<>();
      Map<String, AtomicLong> slowAnswers = new ConcurrentHashMap<>();
      for (int i = 0; i < pathological; i++) {
        threads.add(
            Thread.ofPlatform()
                .name("pathological-" + i)
                .start(() -> closedLoop(port, slow, phase, slowAnswers)));
      }
      Recorder healthLatency = new Recorder();
      Recorder checkLatency = new Recorder();
      threads.add(
          Thread.ofPlatform()
              .name("health")
              .start(() -> openLoop(port, health, healthRate, phase, healthLatency, "SERVING")));
      threads.add(
          Thread.ofPlatform()
              .name("ordinary")
              .start(
                  () -> openLoop(port, fast, checkRate, phase, checkLatency, "\"allowed\":true")));

      Thread.sleep(warmup * 1000L);
      healthLatency.reset();
      checkLatency.reset();
      slowAnswers.clear();
      long cpuBefore = processCpu();
      long started = System.nanoTime();
      Thread.sleep(duration * 1000L);
      long elapsed = System.nanoTime() - started;
      long cpu = processCpu() - cpuBefore;
      phase.stop = true;
      for (Thread thread : threads) {
        thread.join(30_000);
      }
      System.out.println("load average after:  " + loadAverage());
      System.out.printf(
          Locale.ROOT, "process CPU %.2f cores over the measurement%n", cpu / (double) elapsed);
      System.out.println(
          "/healthz:        " + healthLatency.summary() + " (" + healthLatency.errors + " errors)");
      System.out.println(
          "ordinary checks: " + checkLatency.summary() + " (" + checkLatency.errors + " errors)");
      System.out.printf(
          Locale.ROOT,
          "pathological checks answered: %s (%.1f/s)%n",
          slowAnswers,
          slowAnswers.values().stream().mapToLong(AtomicLong::get).sum() / (elapsed / 1e9));
    }
  }

  // ------------------------------------------------------------------ the load

  static final class Phase {
    volatile boolean stop;
  }

  /** Sends {@code request} as soon as the previous answer is in; counts answers by status. */
  private static void closedLoop(
      int port, byte[] request, Phase phase, Map<String, AtomicLong> answers) {
    try (Exchange exchange = new Exchange(port)) {
      while (!phase.stop) {
        Exchange.Answer answer = exchange.send(request);
        Matcher code = CODE.matcher(answer.body());
        String key = answer.status() + (code.find() ? " " + code.group(1) : "");
        answers.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  private static final Pattern CODE = Pattern.compile("\"code\":\"([a-z_]+)\"");

  /** Sends {@code request} at {@code rate} per second; latency from its scheduled time. */
  private static void openLoop(
      int port, byte[] request, double rate, Phase phase, Recorder latency, String expected) {
    long interval = (long) (1e9 / rate);
    try (Exchange exchange = new Exchange(port)) {
      long next = System.nanoTime();
      while (!phase.stop) {
        long wait = next - System.nanoTime();
        if (wait > 0) {
          LockSupport.parkNanos(wait);
          continue;
        }
        Exchange.Answer answer = exchange.send(request);
        long done = System.nanoTime();
        if (answer.status() != 200 || !answer.body().contains(expected)) {
          latency.errors++;
        }
        latency.add(done - next);
        next += interval;
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Latencies of one stream of requests (one thread writes, the main thread reads at the end). */
  static final class Recorder {
    private long[] values = new long[1 << 14];
    private int size;
    long errors;

    synchronized void add(long nanos) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = nanos;
    }

    synchronized void reset() {
      size = 0;
      errors = 0;
    }

    synchronized String summary() {
      long[] sorted = Arrays.copyOf(values, size);
      Arrays.sort(sorted);
      if (sorted.length == 0) {
        return "(none)";
      }
      StringBuilder out = new StringBuilder(sorted.length + " requests:");
      for (double p : new double[] {50, 90, 99, 99.9}) {
        int at = (int) Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1);
        out.append(String.format(Locale.ROOT, " p%s %.1f ms,", p, sorted[Math.max(0, at)] / 1e6));
      }
      out.append(String.format(Locale.ROOT, " max %.1f ms", sorted[sorted.length - 1] / 1e6));
      return out.toString().replace(".0 ms", " ms").replace("p50.0", "p50");
    }
  }

  /** HTTP/1.1 over one keep-alive socket; reads each answer whole (Content-Length or chunked). */
  static final class Exchange implements AutoCloseable {
    record Answer(int status, String body) {}

    private final Socket socket;
    private final InputStream in;
    private final OutputStream out;

    Exchange(int port) throws IOException {
      socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress("127.0.0.1", port));
      in = new java.io.BufferedInputStream(socket.getInputStream());
      out = socket.getOutputStream();
    }

    Answer send(byte[] request) throws IOException {
      out.write(request);
      out.flush();
      String status = line();
      int contentLength = -1;
      boolean chunked = false;
      for (String header = line(); !header.isEmpty(); header = line()) {
        String lower = header.toLowerCase(Locale.ROOT);
        if (lower.startsWith("content-length:")) {
          contentLength = Integer.parseInt(header.substring(15).trim());
        } else if (lower.startsWith("transfer-encoding:") && lower.contains("chunked")) {
          chunked = true;
        }
      }
      StringBuilder body = new StringBuilder();
      if (chunked) {
        for (int size = Integer.parseInt(line().trim(), 16);
            size > 0;
            size = Integer.parseInt(line().trim(), 16)) {
          body.append(new String(in.readNBytes(size), StandardCharsets.UTF_8));
          line();
        }
        line();
      } else if (contentLength > 0) {
        body.append(new String(in.readNBytes(contentLength), StandardCharsets.UTF_8));
      }
      return new Answer(Integer.parseInt(status.substring(9, 12)), body.toString());
    }

    private String line() throws IOException {
      StringBuilder line = new StringBuilder();
      for (int c = in.read(); c != '\n'; c = in.read()) {
        if (c < 0) {
          throw new IOException("connection closed");
        }
        if (c != '\r') {
          line.append((char) c);
        }
      }
      return line.toString();
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  // ------------------------------------------------------------------ the stores

  /**
   * A writer's pathological parent graph (as castellan-core's test fixture {@code Pathological}).
   */
  static final String FOLDERS =
      """
      model
        schema 1.1
      type user
      type folder
        relations
          define parent: [folder]
          define viewer: [user] or viewer from parent
      """;

  static final String ORDINARY =
      """
      model
        schema 1.1
      type user
      type group
        relations
          define member: [user, group#member]
      type doc
        relations
          define viewer: [user, group#member]
      """;

  /** {@code tuples} parent tuples, two folders a layer, each with both folders below as parents. */
  static List<String[]> parentLadder(int tuples) {
    List<String[]> out = new ArrayList<>();
    for (int l = 1; l <= tuples / 4; l++) {
      for (int x = 0; x < 2; x++) {
        for (int y = 0; y < 2; y++) {
          out.add(new String[] {"folder:" + l + "_" + x, "parent", "folder:" + (l - 1) + "_" + y});
        }
      }
    }
    return out;
  }

  private static String check(String object, String relation) {
    return "{\"tuple_key\":{\"object\":\""
        + object
        + "\",\"relation\":\""
        + relation
        + "\",\"user\":\"user:anne\"}}";
  }

  private static byte[] post(int port, String path, String body) {
    byte[] content = body.getBytes(StandardCharsets.UTF_8);
    String head =
        "POST "
            + path
            + " HTTP/1.1\r\nHost: 127.0.0.1:"
            + port
            + "\r\nAuthorization: Bearer "
            + TOKEN
            + "\r\nContent-Type: application/json\r\nContent-Length: "
            + content.length
            + "\r\n\r\n";
    byte[] request =
        Arrays.copyOf(head.getBytes(StandardCharsets.US_ASCII), head.length() + content.length);
    System.arraycopy(content, 0, request, head.length(), content.length);
    return request;
  }

  private static String store(int port, String dsl) throws IOException {
    try (Exchange exchange = new Exchange(port)) {
      Exchange.Answer store = exchange.send(post(port, "/stores", "{\"name\":\"budget-load\"}"));
      Matcher id = Pattern.compile("\"id\":\"([^\"]+)\"").matcher(store.body());
      HttpLoad.require(id.find(), "no store id in " + store.body());
      Exchange.Answer model =
          exchange.send(
              post(
                  port,
                  "/stores/" + id.group(1) + "/authorization-models",
                  ModelJson.write(ModelDsl.parse(dsl))));
      HttpLoad.require(model.status() == 201, "model refused: " + model.body());
      return id.group(1);
    }
  }

  private static void write(int port, String store, List<String[]> tuples) throws IOException {
    try (Exchange exchange = new Exchange(port)) {
      for (int from = 0; from < tuples.size(); from += 100) {
        StringBuilder keys = new StringBuilder();
        for (String[] t : tuples.subList(from, Math.min(tuples.size(), from + 100))) {
          keys.append(keys.isEmpty() ? "" : ",")
              .append("{\"object\":\"")
              .append(t[0])
              .append("\",\"relation\":\"")
              .append(t[1])
              .append("\",\"user\":\"")
              .append(t[2])
              .append("\"}");
        }
        Exchange.Answer written =
            exchange.send(
                post(
                    port,
                    "/stores/" + store + "/write",
                    "{\"writes\":{\"tuple_keys\":[" + keys + "]}}"));
        HttpLoad.require(written.status() == 200, "write refused: " + written.body());
      }
    }
  }

  // ------------------------------------------------------------------ the machine

  private static String loadAverage() {
    try {
      return Files.readString(Path.of("/proc/loadavg")).trim();
    } catch (IOException e) {
      return "(unknown)";
    }
  }

  private static long processCpu() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static Map<String, String> options(String[] args) {
    Map<String, String> map = new LinkedHashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        throw new IllegalArgumentException("expected --name value, got " + args[i]);
      }
      map.put(args[i].substring(2), args[++i]);
    }
    return map;
  }
}
