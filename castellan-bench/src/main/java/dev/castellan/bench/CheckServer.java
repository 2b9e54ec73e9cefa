package dev.castellan.bench;

import com.sun.net.httpserver.HttpServer;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.audit.AuditSettings;
import dev.castellan.store.MemoryStore;
import dev.castellan.store.Store;
import dev.castellan.store.jdbc.JdbcStore;
import io.javalin.Javalin;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The servers of the HTTP check comparison (issue 14, {@code scripts/bench-http-check.sh}): one
 * load generator (wrk) measures, in one run, a trivial HTTP server on Castellan's HTTP stack and
 * Castellan's check endpoint on each store.
 *
 * <ul>
 *   <li>{@code --trivial PORT}: Javalin on Jetty with virtual threads, as the server configures
 *       them, reading the body of every {@code POST /check} and answering it with a fixed small
 *       JSON body: the ceiling any endpoint on this stack can reach on the machine;
 *   <li>{@code --trivial-jetty PORT}: the same on a bare Jetty core handler (no Javalin, no
 *       servlets), to see what of the trivial server's cost is the framework's;
 *   <li>{@code --castellan PORT --store memory|embedded:DIR|JDBC_URL [--audit on|off]}: Castellan
 *       with its default settings (every decision audited unless {@code --audit off}, API-key
 *       authentication), with a store {@code bench} holding a small model and 10,000 tuples; it
 *       writes the check request wrk sends to {@code --request FILE} (store id and key inside).
 * </ul>
 *
 * <p>Both print {@code ready} once they serve, then wait until killed. With {@code --stats PORT}
 * (after the other options) they also answer {@code GET http://127.0.0.1:PORT/} on a separate,
 * JDK-built listener with their counters so far, one {@code name=value} a line: {@code cpu_ns} (the
 * process, every thread: requests, JIT, GC, the audit writer), {@code alloc_bytes} (heap allocated
 * by every thread), {@code gc_count}, {@code gc_ms} and {@code audit_writer_cpu_ns}. The script
 * reads them before and after a measured run and divides by wrk's request count: CPU and allocation
 * per request, which other processes on the machine disturb far less than rates.
 */
public final class CheckServer {
  static final String TOKEN = "bench-bootstrap-token-0123456789";
  static final byte[] TRIVIAL_ANSWER =
      "{\"allowed\":true,\"resolution\":\"\"}".getBytes(StandardCharsets.UTF_8);

  private static final String MODEL =
      """
      {"schema_version":"1.1","type_definitions":[
        {"type":"user"},
        {"type":"group","relations":{"member":{"this":{}}},
         "metadata":{"relations":{"member":{"directly_related_user_types":[{"type":"user"}]}}}},
        {"type":"document","relations":{"viewer":{"this":{}}},
         "metadata":{"relations":{"viewer":{"directly_related_user_types":[
           {"type":"user"},{"type":"group","relation":"member"}]}}}}]}
      """;

  private CheckServer() {}

  public static void main(String[] args) throws Exception {
    if (args.length >= 2 && args[0].equals("--trivial-jetty")) {
      if (args.length == 4 && args[2].equals("--stats")) {
        stats(Integer.parseInt(args[3]));
      }
      trivialJetty(Integer.parseInt(args[1]));
      return;
    }
    if (args.length >= 2 && args[0].equals("--trivial")) {
      if (args.length == 4 && args[2].equals("--stats")) {
        stats(Integer.parseInt(args[3]));
      }
      trivial(Integer.parseInt(args[1]));
      return;
    }
    int port = 0;
    int statsPort = -1;
    String store = "memory";
    String audit = "on";
    Path request = Path.of("check-request.lua");
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--castellan" -> port = Integer.parseInt(args[i + 1]);
        case "--store" -> store = args[i + 1];
        case "--audit" -> audit = args[i + 1];
        case "--request" -> request = Path.of(args[i + 1]);
        case "--stats" -> statsPort = Integer.parseInt(args[i + 1]);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    if (statsPort >= 0) {
      stats(statsPort);
    }
    castellan(port, open(store), audit.equals("off"), request);
  }

  /** The counters listener: a JDK HTTP server on one platform thread, apart from Jetty's. */
  private static void stats(int port) throws IOException {
    HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 4);
    server.createContext(
        "/",
        exchange -> {
          CpuCounters.Gc gc = CpuCounters.Gc.now();
          String text =
              "cpu_ns="
                  + CpuCounters.processCpuNanos()
                  + "\nalloc_bytes="
                  + CpuCounters.allocatedBytes()
                  + "\ngc_count="
                  + gc.count()
                  + "\ngc_ms="
                  + gc.millis()
                  + "\naudit_writer_cpu_ns="
                  + CpuCounters.threadCpuNanosByName().getOrDefault(CpuCounters.AUDIT_WRITER, 0L)
                  + "\n";
          byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, bytes.length);
          try (var out = exchange.getResponseBody()) {
            out.write(bytes);
          }
        });
    server.start();
  }

  private static void trivial(int port) throws InterruptedException {
    Javalin app =
        Javalin.create(
            config -> {
              config.startup.showJavalinBanner = false;
              config.concurrency.useVirtualThreads = true;
              config.jetty.host = "127.0.0.1";
              config.jetty.port = port;
              config.routes.post(
                  "/check",
                  ctx -> {
                    // Reads the request body as every endpoint must, the way Castellan's check
                    // reads it (one array of the declared length; Javalin's ctx.body() copies it
                    // through an 8 KiB buffer).
                    int length = ctx.req().getContentLength();
                    byte[] body =
                        length >= 0
                            ? ctx.req().getInputStream().readNBytes(length)
                            : ctx.bodyAsBytes();
                    if (body.length == 0) {
                      ctx.status(400);
                    }
                    ctx.contentType("application/json");
                    ctx.outputStream().write(TRIVIAL_ANSWER);
                  });
            });
    app.start();
    System.out.println("ready trivial http://127.0.0.1:" + app.port());
    Thread.currentThread().join();
  }

  /**
   * The floor under the trivial server: a Jetty core handler, without Javalin or the servlet layer,
   * doing the same work. Measured to see how much of the trivial server's CPU per request is
   * Javalin's (docs/benchmarks.md: none to speak of; Jetty and the kernel hold it).
   */
  private static void trivialJetty(int port) throws Exception {
    QueuedThreadPool pool = new QueuedThreadPool();
    pool.setVirtualThreadsExecutor(Executors.newVirtualThreadPerTaskExecutor());
    Server server = new Server(pool);
    ServerConnector connector = new ServerConnector(server);
    connector.setHost("127.0.0.1");
    connector.setPort(port);
    server.addConnector(connector);
    server.setHandler(
        new Handler.Abstract() {
          @Override
          public boolean handle(Request request, Response response, Callback callback)
              throws Exception {
            long length = request.getLength();
            InputStream in = Request.asInputStream(request);
            byte[] body = length >= 0 ? in.readNBytes((int) length) : in.readAllBytes();
            response.setStatus(body.length == 0 ? 400 : 200);
            response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
            response.write(true, ByteBuffer.wrap(TRIVIAL_ANSWER), callback);
            return true;
          }
        });
    server.start();
    System.out.println("ready trivial-jetty http://127.0.0.1:" + port);
    Thread.currentThread().join();
  }

  private static Store open(String store) {
    if (store.equals("memory")) {
      return new MemoryStore();
    }
    if (store.startsWith("embedded:")) {
      return JdbcStore.embedded(Path.of(store.substring("embedded:".length())));
    }
    return JdbcStore.postgres(store);
  }

  private static void castellan(int port, Store store, boolean auditOff, Path request)
      throws Exception {
    CastellanServer server =
        CastellanServer.start(
            CastellanServer.Options.defaults()
                .withHost("127.0.0.1")
                .withPort(port)
                .withBootstrapToken(TOKEN),
            store,
            auditOff ? AuditSettings.OFF : AuditSettings.DEFAULT);
    String base = "http://127.0.0.1:" + server.port();
    String storeId = field(post(base + "/stores", "{\"name\":\"bench\"}"), "id");
    post(base + "/stores/" + storeId + "/authorization-models", MODEL);
    // 100 groups of 10 users; 10,000 documents, each viewable by one group and one user.
    for (int batch = 0; batch < 200; batch++) {
      List<String> tuples = new ArrayList<>();
      for (int i = 0; i < 50; i++) { // at most 100 tuples per write
        int n = batch * 50 + i;
        tuples.add(tuple("user:u" + n, "viewer", "document:d" + n));
        if (n < 1000) {
          tuples.add(tuple("user:u" + n, "member", "group:g" + (n / 10)));
        }
      }
      post(
          base + "/stores/" + storeId + "/write",
          "{\"writes\":{\"tuple_keys\":[" + String.join(",", tuples) + "]}}");
    }
    String body =
        "{\"tuple_key\":{\"user\":\"user:u42\",\"relation\":\"viewer\",\"object\":\"document:d42\"}}";
    Files.writeString(
        request,
        "wrk.method = \"POST\"\n"
            + "wrk.path = \"/stores/"
            + storeId
            + "/check\"\n"
            + "wrk.headers[\"Content-Type\"] = \"application/json\"\n"
            + "wrk.headers[\"Authorization\"] = \"Bearer "
            + TOKEN
            + "\"\n"
            + "wrk.body = '"
            + body
            + "'\n");
    String answer = post(base + "/stores/" + storeId + "/check", body);
    if (!answer.contains("\"allowed\":true")) {
      throw new IllegalStateException("the bench check is not allowed: " + answer);
    }
    System.out.println("ready castellan " + base + " store " + storeId);
    Thread.currentThread().join();
  }

  private static String tuple(String user, String relation, String object) {
    return "{\"user\":\""
        + user
        + "\",\"relation\":\""
        + relation
        + "\",\"object\":\""
        + object
        + "\"}";
  }

  private static final HttpClient CLIENT = HttpClient.newHttpClient();

  private static String post(String url, String body) throws IOException, InterruptedException {
    HttpResponse<String> response =
        CLIENT.send(
            HttpRequest.newBuilder(URI.create(url))
                .header("Authorization", "Bearer " + TOKEN)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build(),
            HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() >= 300) {
      throw new IllegalStateException(
          url + " answered " + response.statusCode() + ": " + response.body());
    }
    return response.body();
  }

  private static String field(String json, String name) {
    int at = json.indexOf("\"" + name + "\":\"");
    int start = at + name.length() + 4;
    return json.substring(start, json.indexOf('"', start));
  }
}
