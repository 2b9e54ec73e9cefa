package dev.castellan.bench;

import dev.castellan.engine.CheckRequest;
import dev.castellan.engine.Engine;
import dev.castellan.model.ModelDsl;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.audit.AuditSettings;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.Store;
import dev.castellan.store.jdbc.JdbcStore;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.locks.LockSupport;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Check throughput and latency of the HTTP server over loopback with keep-alive, on the
 * 1,000,000-tuple {@link Dataset} (issue 4).
 *
 * <p>Two phases per run:
 *
 * <ol>
 *   <li>closed loop: {@code N} connections, each sending its next check as soon as the previous
 *       answer arrives, for the highest rate (one run per value of {@code --connections});
 *   <li>open loop: fixed rates (by default 10,000 checks/s, half the 20,000/s target, then half the
 *       best closed-loop rate) spread over {@code --open-connections} connections, each on its own
 *       schedule. Latency is measured from the time a request was <em>scheduled</em> to be sent,
 *       not from when it was sent, so a stalled server is charged for the requests it delayed (no
 *       coordinated omission). The time from the actual send is printed too: the difference is the
 *       load generator's own lateness.
 * </ol>
 *
 * <p>The checks are a fixed mix, drawn with a fixed seed: a direct viewer (allowed), a viewer
 * through 4 nested groups and 5 folder levels (allowed), the same deep path for a stranger
 * (denied), and random documents for random users. Every answer is compared with the engine's.
 *
 * <p>Modes:
 *
 * <ul>
 *   <li>no {@code --url}: loads the dataset into a {@link MemoryStore}, starts the server in this
 *       JVM on loopback and measures it (server and load generator share the machine's cores);
 *   <li>{@code --serve PORT}: loads the dataset, starts the server on {@code 127.0.0.1:PORT} and
 *       waits, so another process can measure it;
 *   <li>{@code --url http://127.0.0.1:PORT [--store ID] [--token T]}: measures a running server
 *       whose store (by default the first named {@code bench}) holds the dataset.
 * </ul>
 *
 * <p>Other options: {@code --client raw|jdk} (raw blocking sockets, the default, or {@code
 * java.net.http.HttpClient}), {@code --connections 4,16,64}, {@code --open-connections 16}, {@code
 * --rate 10000,half} (open-loop checks/s; {@code half} is half the best closed-loop rate), {@code
 * --warmup S}, {@code --duration S}, {@code --closed-only}, {@code --open-only} (with numeric
 * rates), {@code --audit all|sampled|none|off} (which allowed decisions the in-process server's
 * audit trail records, denials being always recorded; {@code off} records nothing, the baseline;
 * default all, as the server's), {@code --audit-data DIR|JDBC_URL} (the in-process server keeps its
 * tuples in the {@link MemoryStore} but writes its audit trail to an embedded H2 database in DIR,
 * or to PostgreSQL, as a production server would, rather than to memory).
 *
 * <p>Run: {@code java -Xmx4g --sun-misc-unsafe-memory-access=allow -cp castellan-benchmarks.jar
 * dev.castellan.bench.HttpLoad}.
 */
public final class HttpLoad {
  static final String TOKEN = "bench-bootstrap-token-0123456789";
  private static final String STORE_NAME = "bench";
  private static final int POOL = 4096;
  private static final long SEED = 20261125L;

  private HttpLoad() {}

  // ------------------------------------------------------------------ options

  record Options(
      String url,
      String storeId,
      String token,
      int serve,
      String client,
      int[] connections,
      int openConnections,
      String[] rates,
      int warmupSeconds,
      int durationSeconds,
      boolean closedOnly,
      boolean openOnly,
      boolean forwardAuth,
      String audit,
      String auditData) {

    static Options parse(String[] args) {
      Map<String, String> map = new LinkedHashMap<>();
      for (int i = 0; i < args.length; i++) {
        String arg = args[i];
        if (!arg.startsWith("--")) {
          throw new IllegalArgumentException("unexpected argument " + arg);
        }
        String name = arg.substring(2);
        if (name.equals("closed-only") || name.equals("open-only") || name.equals("forward-auth")) {
          map.put(name, "true");
        } else if (i + 1 < args.length) {
          map.put(name, args[++i]);
        } else {
          throw new IllegalArgumentException(arg + " needs a value");
        }
      }
      int[] connections =
          Arrays.stream(map.getOrDefault("connections", "4,16,64").split(","))
              .mapToInt(s -> Integer.parseInt(s.trim()))
              .toArray();
      return new Options(
          map.getOrDefault("url", ""),
          map.getOrDefault("store", ""),
          map.getOrDefault("token", TOKEN),
          Integer.parseInt(map.getOrDefault("serve", "0")),
          map.getOrDefault("client", "raw"),
          connections,
          Integer.parseInt(map.getOrDefault("open-connections", "16")),
          map.getOrDefault("rate", "10000,half").split(","),
          Integer.parseInt(map.getOrDefault("warmup", "10")),
          Integer.parseInt(map.getOrDefault("duration", "20")),
          map.containsKey("closed-only"),
          map.containsKey("open-only"),
          map.containsKey("forward-auth"),
          map.getOrDefault("audit", "all"),
          map.getOrDefault("audit-data", ""));
    }
  }

  // ------------------------------------------------------------------ main

  public static void main(String[] args) throws Exception {
    Options options = Options.parse(args);
    if (options.forwardAuth()) {
      ForwardAuthLoad.run(options);
      return;
    }
    CastellanServer server = null;
    String url = options.url();
    String storeId = options.storeId();
    Engine engine;
    if (url.isEmpty()) {
      MemoryStore memory = new MemoryStore();
      storeId = load(memory);
      Store store =
          options.auditData().isEmpty()
              ? memory
              : withAuditIn(
                  memory,
                  options.auditData().startsWith("jdbc:postgresql:")
                      ? JdbcStore.postgres(options.auditData())
                      : JdbcStore.embedded(java.nio.file.Path.of(options.auditData())));
      AuditSettings audit =
          options.audit().equals("off")
              ? AuditSettings.OFF
              : AuditSettings.DEFAULT.withAllows(
                  AuditSettings.Allows.parse(options.audit()),
                  options.audit().equals("sampled") ? 0.1 : 1);
      server =
          CastellanServer.start(
              CastellanServer.Options.defaults()
                  .withHost("127.0.0.1")
                  .withPort(options.serve())
                  .withBootstrapToken(TOKEN),
              store,
              audit);
      url = "http://127.0.0.1:" + server.port();
      engine = server.runtime().engine(storeId, "", null, false);
      if (options.serve() > 0) {
        System.out.printf(
            "serving %s store %s token %s (Ctrl-C to stop)%n", url, storeId, options.token());
        Thread.currentThread().join();
      }
    } else {
      // The dataset is deterministic: build it here too, for the expected answers.
      engine = Dataset.engine(Dataset.index(Dataset.tuples()));
      if (storeId.isEmpty()) {
        storeId = findStore(url, options.token());
      }
    }
    URI base = URI.create(url);
    Requests requests = Requests.build(base, storeId, options.token(), engine);
    // Drop the generated tuples (and, against a remote server, the local engine) now, so that
    // collecting them does not pause the load generator while it measures.
    engine = null;
    System.gc();
    System.out.printf(
        Locale.ROOT,
        "target %s store %s, client %s, %d distinct checks (%d allowed), %s%n",
        url,
        storeId,
        options.client(),
        POOL,
        requests.allowedCount(),
        server == null
            ? "server in another process"
            : "server in this JVM, "
                + (options.auditData().isEmpty()
                    ? "audit trail in memory"
                    : "audit trail in " + options.auditData().replaceAll("\\?.*", ""))
                + ", audit of allows: "
                + options.audit());
    System.out.printf(
        Locale.ROOT,
        "JVM %s, %d cores, flags %s%n",
        Runtime.version(),
        Runtime.getRuntime().availableProcessors(),
        ManagementFactory.getRuntimeMXBean().getInputArguments());
    try {
      measure(options, requests);
    } finally {
      if (server != null) {
        System.out.printf(
            Locale.ROOT,
            "audit trail: %,d entries stored, %,d allows dropped, %d queued%n",
            server.audit().storedEntries(),
            server.audit().droppedAllows(),
            server.audit().queueDepth());
        server.close();
      }
    }
  }

  /** Verifies every request's answer, then runs the closed-loop and open-loop phases. */
  static void measure(Options options, Requests requests) throws Exception {
    {
      requests.verify(options.client());
      double best = 0;
      for (int n : options.openOnly() ? new int[0] : options.connections()) {
        Result closed = closedLoop(options, requests, n);
        closed.print("closed loop, " + n + " connections");
        best = Math.max(best, closed.throughput());
      }
      if (!options.closedOnly()) {
        for (String value : options.rates()) {
          boolean half = value.trim().equals("half");
          require(!half || best > 0, "'half' needs the closed loop: drop --open-only");
          double rate = half ? Math.floor(best / 2 / 100) * 100 : Double.parseDouble(value);
          Result open = openLoop(options, requests, options.openConnections(), rate);
          open.print(
              String.format(
                  Locale.ROOT,
                  "open loop, %.0f checks/s%s over %d connections",
                  rate,
                  half ? " (half the best closed-loop rate)" : "",
                  options.openConnections()));
        }
      }
    }
  }

  /** {@code tuples} for everything but the audit trail, which goes to {@code audit}'s database. */
  private static Store withAuditIn(Store tuples, Store audit) {
    return (Store)
        java.lang.reflect.Proxy.newProxyInstance(
            Store.class.getClassLoader(),
            new Class<?>[] {Store.class},
            (proxy, method, args) -> {
              if (method.getName().equals("close")) {
                audit.close();
              }
              Store target = method.getName().equals("auditRecords") ? audit : tuples;
              try {
                return method.invoke(target, args);
              } catch (java.lang.reflect.InvocationTargetException e) {
                throw e.getCause();
              }
            });
  }

  /** Creates the store and model and imports the dataset; returns the store id. */
  static String load(MemoryStore store) {
    long start = System.nanoTime();
    String storeId = store.createStore(STORE_NAME).id();
    store.writeModel(storeId, ModelDsl.parse(Dataset.MODEL));
    store.importTuples(storeId, Dataset.tuples().iterator(), 10_000, n -> {});
    System.out.printf(
        Locale.ROOT,
        "loaded %,d tuples in %.1f s%n",
        Dataset.TARGET_TUPLES,
        (System.nanoTime() - start) / 1e9);
    return storeId;
  }

  private static String findStore(String url, String token) throws Exception {
    HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    HttpResponse<String> response =
        client.send(
            HttpRequest.newBuilder(URI.create(url + "/stores?page_size=100"))
                .header("Authorization", "Bearer " + token)
                .GET()
                .build(),
            HttpResponse.BodyHandlers.ofString());
    Matcher m =
        Pattern.compile("\"id\":\"([^\"]+)\",\"name\":\"" + STORE_NAME + "\"")
            .matcher(response.body());
    if (!m.find()) {
      throw new IllegalStateException("no store named '" + STORE_NAME + "' at " + url);
    }
    return m.group(1);
  }

  // ------------------------------------------------------------------ the check mix

  /** The fixed pool of checks, as JSON bodies and raw HTTP requests, with expected answers. */
  record Requests(
      URI base, String path, String token, String[] bodies, byte[][] raw, boolean[] expected) {

    static Requests build(URI base, String storeId, String token, Engine engine) {
      SplittableRandom random = new SplittableRandom(SEED);
      String path = "/stores/" + storeId + "/check";
      String[] bodies = new String[POOL];
      byte[][] raw = new byte[POOL][];
      boolean[] expected = new boolean[POOL];
      for (int i = 0; i < POOL; i++) {
        String object;
        String user;
        switch (i % 4) {
          case 0 -> {
            object = "document:0";
            user = "user:direct";
          }
          case 1 -> {
            object = "document:deep";
            user = "user:deep";
          }
          case 2 -> {
            object = "document:deep";
            user = "user:nobody";
          }
          default -> {
            object = "document:" + random.nextInt(Dataset.DOCUMENTS);
            user = "user:u" + random.nextInt(Dataset.USERS);
          }
        }
        expected[i] = engine.check(CheckRequest.of(object, "viewer", user)).allowed();
        bodies[i] =
            "{\"tuple_key\":{\"object\":\""
                + object
                + "\",\"relation\":\"viewer\",\"user\":\""
                + user
                + "\"}}";
        byte[] body = bodies[i].getBytes(StandardCharsets.UTF_8);
        String head =
            "POST "
                + path
                + " HTTP/1.1\r\nHost: "
                + base.getHost()
                + ":"
                + base.getPort()
                + "\r\nAuthorization: Bearer "
                + token
                + "\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length
                + "\r\n\r\n";
        byte[] headBytes = head.getBytes(StandardCharsets.US_ASCII);
        raw[i] = Arrays.copyOf(headBytes, headBytes.length + body.length);
        System.arraycopy(body, 0, raw[i], headBytes.length, body.length);
      }
      require(expected[0], "direct check must be allowed");
      require(expected[1], "deep check must be allowed");
      require(!expected[2], "the stranger must be denied");
      // Shuffle the kinds, deterministically, so that connections do not fall into lockstep.
      for (int i = POOL - 1; i > 0; i--) {
        int j = random.nextInt(i + 1);
        String b = bodies[i];
        bodies[i] = bodies[j];
        bodies[j] = b;
        byte[] r = raw[i];
        raw[i] = raw[j];
        raw[j] = r;
        boolean e = expected[i];
        expected[i] = expected[j];
        expected[j] = e;
      }
      return new Requests(base, path, token, bodies, raw, expected);
    }

    int allowedCount() {
      int n = 0;
      for (boolean e : expected) {
        n += e ? 1 : 0;
      }
      return n;
    }

    /** Sends every check of the pool once and compares the answers. */
    void verify(String client) throws IOException {
      try (Connection connection = Connection.open(client, this)) {
        for (int i = 0; i < POOL; i++) {
          boolean allowed = connection.check(i);
          require(allowed == expected[i], "wrong answer over HTTP for " + bodies[i]);
        }
      }
    }
  }

  // ------------------------------------------------------------------ connections

  /** One keep-alive connection that sends a check and waits for its answer. */
  interface Connection extends AutoCloseable {
    /** Sends check {@code i} of the pool; returns its answer. */
    boolean check(int i) throws IOException;

    @Override
    void close() throws IOException;

    static Connection open(String client, Requests requests) throws IOException {
      return switch (client) {
        case "raw" -> new RawConnection(requests);
        case "jdk" -> new JdkConnection(requests);
        default -> throw new IllegalArgumentException("--client must be raw or jdk");
      };
    }
  }

  /**
   * HTTP/1.1 over a blocking socket: the request bytes are prepared ahead, the response is parsed
   * just enough to find its end (Content-Length or chunked) and the answer.
   */
  static final class RawConnection implements Connection {
    private final Requests requests;
    private Socket socket;
    private InputStream in;
    private OutputStream out;
    private final byte[] buffer = new byte[16 * 1024];
    private int position;
    private int limit;
    private final StringBuilder line = new StringBuilder(128);

    RawConnection(Requests requests) throws IOException {
      this.requests = requests;
      connect();
    }

    private void connect() throws IOException {
      socket = new Socket();
      socket.setTcpNoDelay(true);
      socket.connect(new InetSocketAddress(requests.base().getHost(), requests.base().getPort()));
      in = socket.getInputStream();
      out = socket.getOutputStream();
      position = 0;
      limit = 0;
    }

    @Override
    public boolean check(int i) throws IOException {
      out.write(requests.raw()[i]);
      String status = readLine();
      if (status == null) {
        // The server closed an idle connection: reconnect once and resend.
        socket.close();
        connect();
        out.write(requests.raw()[i]);
        status = readLine();
        if (status == null) {
          throw new IOException("connection closed");
        }
      }
      // Forward-auth answers a denial with 403; checks always answer 200.
      boolean forbidden = status.startsWith("HTTP/1.1 403");
      if (!forbidden && !status.startsWith("HTTP/1.1 200")) {
        throw new IOException("unexpected status: " + status);
      }
      int contentLength = -1;
      boolean chunked = false;
      boolean close = false;
      for (String header = readLine(); header != null && !header.isEmpty(); header = readLine()) {
        int colon = header.indexOf(':');
        String name = header.substring(0, colon).trim();
        String value = header.substring(colon + 1).trim();
        if (name.equalsIgnoreCase("Content-Length")) {
          contentLength = Integer.parseInt(value);
        } else if (name.equalsIgnoreCase("Transfer-Encoding")) {
          chunked = value.equalsIgnoreCase("chunked");
        } else if (name.equalsIgnoreCase("Connection")) {
          close = value.equalsIgnoreCase("close");
        }
      }
      boolean allowed;
      if (chunked) {
        StringBuilder body = new StringBuilder();
        for (int size = Integer.parseInt(readLine().trim(), 16);
            size > 0;
            size = Integer.parseInt(readLine().trim(), 16)) {
          body.append(readBytes(size));
          readLine();
        }
        readLine();
        allowed = !forbidden && answer(body);
      } else {
        CharSequence body = readBytes(contentLength);
        allowed = !forbidden && answer(body);
      }
      if (close) {
        socket.close();
        connect();
      }
      return allowed;
    }

    private static boolean answer(CharSequence body) throws IOException {
      String text = body.toString();
      if (text.startsWith("{\"allowed\":true")) {
        return true;
      }
      if (text.startsWith("{\"allowed\":false")) {
        return false;
      }
      throw new IOException("unexpected body: " + text);
    }

    private boolean fill() throws IOException {
      if (position == limit) {
        position = 0;
        limit = in.read(buffer);
        if (limit <= 0) {
          limit = 0;
          return false;
        }
      }
      return true;
    }

    private String readLine() throws IOException {
      line.setLength(0);
      while (true) {
        if (!fill()) {
          return line.isEmpty() ? null : line.toString();
        }
        byte b = buffer[position++];
        if (b == '\n') {
          int length = line.length();
          if (length > 0 && line.charAt(length - 1) == '\r') {
            line.setLength(length - 1);
          }
          return line.toString();
        }
        line.append((char) b);
      }
    }

    private String readBytes(int count) throws IOException {
      byte[] bytes = new byte[count];
      int done = 0;
      while (done < count) {
        if (!fill()) {
          throw new IOException("connection closed in a body");
        }
        int n = Math.min(count - done, limit - position);
        System.arraycopy(buffer, position, bytes, done, n);
        position += n;
        done += n;
      }
      return new String(bytes, StandardCharsets.UTF_8);
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  /**
   * {@link HttpClient} on HTTP/1.1 (keep-alive): one client per connection, so each thread keeps
   * its own pooled connection, as a {@link RawConnection} does.
   */
  static final class JdkConnection implements Connection {
    private final Requests requests;
    private final HttpClient client;
    private final HttpRequest[] prepared;

    JdkConnection(Requests requests) {
      this.requests = requests;
      this.client =
          HttpClient.newBuilder()
              .version(HttpClient.Version.HTTP_1_1)
              .connectTimeout(Duration.ofSeconds(5))
              .build();
      URI uri = requests.base().resolve(requests.path());
      this.prepared = new HttpRequest[POOL];
      for (int i = 0; i < POOL; i++) {
        prepared[i] =
            HttpRequest.newBuilder(uri)
                .header("Authorization", "Bearer " + requests.token())
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(requests.bodies()[i]))
                .build();
      }
    }

    @Override
    public boolean check(int i) throws IOException {
      HttpResponse<String> response;
      try {
        response = client.send(prepared[i], HttpResponse.BodyHandlers.ofString());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
      if (response.statusCode() == 403) {
        return false;
      }
      if (response.statusCode() != 200) {
        throw new IOException("unexpected status " + response.statusCode());
      }
      return RawConnection.answer(response.body());
    }

    @Override
    public void close() {
      client.close();
    }
  }

  // ------------------------------------------------------------------ load phases

  /** Latencies of one thread, in nanoseconds. */
  static final class Recorder {
    long[] values = new long[1 << 16];
    int size;
    long wrong;
    long errors;

    void add(long nanos) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = nanos;
    }
  }

  /** Each connection sends its next check as soon as it has the previous answer. */
  static Result closedLoop(Options options, Requests requests, int connections) throws Exception {
    Recorder[] recorders = new Recorder[connections];
    Thread[] threads = new Thread[connections];
    long[] threadIds = new long[connections];
    CountDownLatch ready = new CountDownLatch(connections);
    Phase phase = new Phase();
    for (int c = 0; c < connections; c++) {
      Recorder recorder = recorders[c] = new Recorder();
      int offset = c * (POOL / connections + 1);
      threads[c] =
          Thread.ofPlatform()
              .name("load-" + c)
              .daemon()
              .unstarted(
                  () -> {
                    try (Connection connection = Connection.open(options.client(), requests)) {
                      ready.countDown();
                      int i = offset % POOL;
                      while (!phase.stop) {
                        long start = System.nanoTime();
                        boolean allowed;
                        try {
                          allowed = connection.check(i);
                        } catch (IOException e) {
                          recorder.errors++;
                          continue;
                        }
                        long end = System.nanoTime();
                        if (phase.recording) {
                          recorder.add(end - start);
                          if (allowed != requests.expected()[i]) {
                            recorder.wrong++;
                          }
                        }
                        i = (i + 1) % POOL;
                      }
                    } catch (IOException e) {
                      recorder.errors++;
                      ready.countDown();
                    }
                  });
      threads[c].start();
      threadIds[c] = threads[c].threadId();
    }
    ready.await();
    Thread.sleep(options.warmupSeconds() * 1000L);
    Usage before = Usage.now(threadIds, options.client());
    long start = System.nanoTime();
    phase.recording = true;
    Thread.sleep(options.durationSeconds() * 1000L);
    phase.recording = false;
    long end = System.nanoTime();
    Usage after = Usage.now(threadIds, options.client());
    phase.stop = true;
    for (Thread t : threads) {
      t.join(10_000);
    }
    return Result.of(recorders, end - start, null, after.minus(before, end - start));
  }

  /**
   * A fixed total rate, each connection on its own schedule ({@code connections / rate} apart);
   * latency counts from the scheduled send time. A connection that falls behind sends its late
   * requests at once, and their wait counts.
   */
  static Result openLoop(Options options, Requests requests, int connections, double rate)
      throws Exception {
    Recorder[] recorders = new Recorder[connections];
    Recorder[] service = new Recorder[connections];
    Recorder[] lateness = new Recorder[connections];
    Thread[] threads = new Thread[connections];
    long[] threadIds = new long[connections];
    long interval = (long) (connections * 1e9 / rate);
    long warmup = options.warmupSeconds() * 1_000_000_000L;
    long duration = options.durationSeconds() * 1_000_000_000L;
    CountDownLatch ready = new CountDownLatch(connections);
    CountDownLatch go = new CountDownLatch(1);
    CountDownLatch done = new CountDownLatch(1);
    long[] origin = new long[1];
    for (int c = 0; c < connections; c++) {
      Recorder recorder = recorders[c] = new Recorder();
      Recorder served = service[c] = new Recorder();
      Recorder late = lateness[c] = new Recorder();
      int offset = c * (POOL / connections + 1);
      int index = c;
      threads[c] =
          Thread.ofPlatform()
              .name("load-" + c)
              .daemon()
              .unstarted(
                  () -> {
                    try (Connection connection = Connection.open(options.client(), requests)) {
                      ready.countDown();
                      go.await();
                      long measureFrom = origin[0] + warmup;
                      long measureTo = measureFrom + duration;
                      long scheduled = origin[0] + index * interval / connections;
                      int i = offset % POOL;
                      long previousEnd = 0;
                      while (scheduled < measureTo) {
                        long wait = scheduled - System.nanoTime();
                        if (wait > 0) {
                          LockSupport.parkNanos(wait);
                          continue;
                        }
                        long sent = System.nanoTime();
                        boolean allowed;
                        try {
                          allowed = connection.check(i);
                        } catch (IOException e) {
                          recorder.errors++;
                          scheduled += interval;
                          continue;
                        }
                        long end = System.nanoTime();
                        if (scheduled >= measureFrom) {
                          recorder.add(end - scheduled);
                          served.add(end - sent);
                          if (previousEnd <= scheduled) {
                            // The connection was free: any delay in sending is the generator's.
                            late.add(sent - scheduled);
                          }
                          if (allowed != requests.expected()[i]) {
                            recorder.wrong++;
                          }
                        }
                        previousEnd = end;
                        scheduled += interval;
                        i = (i + 1) % POOL;
                      }
                      // Stay alive until the CPU time is read: a finished thread has none.
                      done.await();
                    } catch (IOException e) {
                      recorder.errors++;
                      ready.countDown();
                    } catch (InterruptedException e) {
                      Thread.currentThread().interrupt();
                    }
                  });
      threads[c].start();
      threadIds[c] = threads[c].threadId();
    }
    ready.await();
    origin[0] = System.nanoTime() + 10_000_000L;
    go.countDown();
    Thread.sleep((origin[0] - System.nanoTime()) / 1_000_000 + options.warmupSeconds() * 1000L);
    Usage before = Usage.now(threadIds, options.client());
    Thread.sleep(options.durationSeconds() * 1000L);
    Usage after = Usage.now(threadIds, options.client());
    done.countDown();
    for (Thread t : threads) {
      t.join(60_000);
    }
    return Result.of(recorders, duration, service, after.minus(before, duration))
        .withLateness(Result.merge(lateness));
  }

  static final class Phase {
    volatile boolean recording;
    volatile boolean stop;
  }

  // ------------------------------------------------------------------ accounting

  /**
   * CPU time of the process, of the load generator's threads and of the audit trail's writer, and
   * GC, at one moment.
   */
  record Usage(
      long processCpu,
      long clientCpu,
      long auditWriterCpu,
      long gcCount,
      long gcMillis,
      long wall,
      double machineBusy) {
    static Usage now(long[] loadThreads, String client) {
      ThreadMXBean threads = ManagementFactory.getThreadMXBean();
      long clientCpu = 0;
      for (long id : loadThreads) {
        clientCpu += Math.max(0, threads.getThreadCpuTime(id));
      }
      Map<String, Long> byName = CpuCounters.threadCpuNanosByName();
      if (client.equals("jdk")) {
        // The JDK client's selector threads belong to the load generator too.
        for (Map.Entry<String, Long> thread : byName.entrySet()) {
          if (thread.getKey().startsWith("HttpClient-")) {
            clientCpu += thread.getValue();
          }
        }
      }
      CpuCounters.Gc gc = CpuCounters.Gc.now();
      return new Usage(
          CpuCounters.processCpuNanos(),
          clientCpu,
          byName.getOrDefault(CpuCounters.AUDIT_WRITER, 0L),
          gc.count(),
          gc.millis(),
          System.nanoTime(),
          CpuCounters.machineBusySeconds());
    }

    Usage minus(Usage before, long wall) {
      return new Usage(
          processCpu - before.processCpu,
          clientCpu - before.clientCpu,
          auditWriterCpu - before.auditWriterCpu,
          gcCount - before.gcCount,
          gcMillis - before.gcMillis,
          wall,
          machineBusy - before.machineBusy);
    }
  }

  record Result(
      long count,
      long wrong,
      long errors,
      double throughput,
      long[] sorted,
      long[] serviceSorted,
      long[] latenessSorted,
      Usage usage) {

    Result withLateness(long[] sorted) {
      return new Result(
          count, wrong, errors, throughput, this.sorted, serviceSorted, sorted, usage);
    }

    static Result of(Recorder[] recorders, long nanos, Recorder[] service, Usage usage) {
      long wrong = 0;
      long errors = 0;
      for (Recorder r : recorders) {
        wrong += r.wrong;
        errors += r.errors;
      }
      long[] all = merge(recorders);
      long[] served = service == null ? null : merge(service);
      return new Result(
          all.length, wrong, errors, all.length * 1e9 / nanos, all, served, null, usage);
    }

    static long[] merge(Recorder[] recorders) {
      int total = 0;
      for (Recorder r : recorders) {
        total += r.size;
      }
      long[] all = new long[total];
      int at = 0;
      for (Recorder r : recorders) {
        System.arraycopy(r.values, 0, all, at, r.size);
        at += r.size;
      }
      Arrays.sort(all);
      return all;
    }

    void print(String title) {
      System.out.printf(
          Locale.ROOT,
          "%s: %,d checks, %,.0f checks/s, wrong %d, errors %d%n",
          title,
          count,
          throughput,
          wrong,
          errors);
      System.out.println("  latency " + percentiles(sorted));
      if (serviceSorted != null) {
        System.out.println("  from actual send " + percentiles(serviceSorted));
      }
      if (latenessSorted != null) {
        System.out.println(
            "  generator lateness (send after schedule, connection free) "
                + percentiles(latenessSorted));
      }
      double seconds = usage.wall() / 1e9;
      System.out.printf(
          Locale.ROOT,
          "  cpu: this process %.2f cores (load generator threads %.2f cores, audit writer %.3f"
              + " cores), machine busy %.2f cores, GC %d pauses %d ms%n",
          usage.processCpu() / 1e9 / seconds,
          usage.clientCpu() / 1e9 / seconds,
          usage.auditWriterCpu() / 1e9 / seconds,
          usage.machineBusy() / seconds,
          usage.gcCount(),
          usage.gcMillis());
    }

    static String percentiles(long[] sorted) {
      if (sorted.length == 0) {
        return "(none)";
      }
      List<String> parts = new ArrayList<>();
      double[] ps = {50, 90, 99, 99.9};
      for (double p : ps) {
        int at = (int) Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1);
        parts.add(String.format(Locale.ROOT, "p%s %s", trim(p), ms(sorted[Math.max(0, at)])));
      }
      parts.add("max " + ms(sorted[sorted.length - 1]));
      double mean = Arrays.stream(sorted).average().orElse(0);
      parts.add("mean " + ms((long) mean));
      return String.join(", ", parts);
    }

    private static String trim(double p) {
      return p == Math.rint(p) ? Long.toString((long) p) : Double.toString(p);
    }

    private static String ms(long nanos) {
      return String.format(Locale.ROOT, "%.3f ms", nanos / 1e6);
    }
  }

  static void require(boolean condition, String message) {
    if (!condition) {
      throw new IllegalStateException(message);
    }
  }
}
