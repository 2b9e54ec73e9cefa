package dev.castellan.bench;

import dev.castellan.engine.Tuple;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelDsl;
import dev.castellan.server.CastellanServer;
import dev.castellan.server.StoreRuntime;
import dev.castellan.store.StoreInfo;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.jdbc.JdbcStore;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.management.ThreadMXBean;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Issue 14 point 3: one node over many small stores in PostgreSQL. Seeds {@code --stores} stores of
 * {@code --tuples} tuples each (once; a later run over the same database reuses them), then starts
 * a node as after a restart and measures: the time from opening the database to {@code /readyz}
 * answering 200, live threads, the first check on cold stores (p50/p99 over {@code --cold} stores
 * never used since the restart), and, after every store has been used once, the heap and the
 * stores' estimate against {@code --budget}; last, the heap released when the node lets every
 * loaded store go, which is what the loaded stores held (the live heap added since ready also holds
 * the server's own first-request caches).
 *
 * <p>Run: {@code java -Xmx1g -cp castellan-benchmarks.jar dev.castellan.bench.ManyTenants --pg-url
 * 'jdbc:postgresql://127.0.0.1:5432/castellan_many?user=postgres' [--stores 10000] [--tuples 100]
 * [--budget 64m] [--cold 200] [--seed-threads 4]}. The database must exist and be empty or hold a
 * previous run's stores.
 */
public final class ManyTenants {
  private static final String TOKEN = "many-tenants-bench-token-0123456789";
  private static final AuthorizationModel MODEL =
      ModelDsl.parse(
          """
          model
            schema 1.1
          type user
          type doc
            relations
              define viewer: [user]
          """);

  private ManyTenants() {}

  public static void main(String[] args) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:5432/castellan_many?user=postgres";
    int stores = 10_000;
    int tuples = 100;
    long budget = 64L << 20;
    int cold = 200;
    int seedThreads = 4;
    for (int i = 0; i < args.length; i += 2) {
      String value = args[i + 1];
      switch (args[i]) {
        case "--pg-url" -> url = value;
        case "--stores" -> stores = Integer.parseInt(value);
        case "--tuples" -> tuples = Integer.parseInt(value);
        case "--budget" -> budget = size(value);
        case "--cold" -> cold = Integer.parseInt(value);
        case "--seed-threads" -> seedThreads = Integer.parseInt(value);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    List<String> ids = seed(url, stores, tuples, seedThreads);
    System.gc();
    ThreadMXBean threads = ManagementFactory.getThreadMXBean();
    MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
    int threadsBefore = threads.getThreadCount();
    long heapBefore = liveHeap(memory);

    // The restart: open the database, start the node, wait for /readyz.
    long started = System.nanoTime();
    JdbcStore store = JdbcStore.postgres(url);
    CastellanServer server =
        CastellanServer.start(
            CastellanServer.Options.defaults()
                .withHost("127.0.0.1")
                .withPort(0)
                .withBootstrapToken(TOKEN)
                .withIndexMemoryBudget(budget),
            store);
    HttpClient http = HttpClient.newHttpClient();
    String base = "http://127.0.0.1:" + server.port();
    while (http.send(
                HttpRequest.newBuilder(URI.create(base + "/readyz")).build(),
                HttpResponse.BodyHandlers.ofString())
            .statusCode()
        != 200) {
      Thread.sleep(10);
    }
    double readyMillis = (System.nanoTime() - started) / 1e6;
    int threadsReady = threads.getThreadCount();
    threads.resetPeakThreadCount();
    long heapReady = liveHeap(memory);
    System.out.printf(
        "stores=%d tuples_per_store=%d budget_bytes=%d restart_to_ready_ms=%.0f"
            + " threads_before_start=%d threads_ready=%d live_heap_ready=%d"
            + " loaded_at_ready=%d%n",
        ids.size(),
        tuples,
        budget,
        readyMillis,
        threadsBefore,
        threadsReady,
        heapReady,
        server.runtime().loadedStores().loaded());
    if (ids.isEmpty()) {
      server.close();
      store.close();
      return;
    }

    try {
      // First checks on cold stores: never used since the restart.
      List<String> shuffled = new ArrayList<>(ids);
      Collections.shuffle(shuffled, new Random(14));
      // The JVM's first requests load classes and compile: warm the check path on stores kept
      // out of the sample, so that the sample measures a cold store, not a cold JVM.
      int warmup = Math.min(50, shuffled.size() / 10);
      for (int round = 0; round < 3; round++) {
        for (String id : shuffled.subList(shuffled.size() - warmup, shuffled.size())) {
          check(http, base, id, true);
        }
      }
      List<String> coldStores = shuffled.subList(0, Math.min(cold, shuffled.size() - warmup));
      long[] coldNanos = new long[coldStores.size()];
      long[] warmNanos = new long[coldStores.size()];
      for (int i = 0; i < coldStores.size(); i++) {
        String id = coldStores.get(i);
        coldNanos[i] = check(http, base, id, true);
        warmNanos[i] = check(http, base, id, true);
      }
      System.out.printf(
          "cold_first_check_ms p50=%.2f p99=%.2f max=%.2f; the same store again: p50=%.2f"
              + " p99=%.2f%n",
          percentile(coldNanos, 50),
          percentile(coldNanos, 99),
          percentile(coldNanos, 100),
          percentile(warmNanos, 50),
          percentile(warmNanos, 99));

      // The server's own warm-up (Jetty's buffer pools, Jackson's and the metrics' caches) stays on
      // the heap: measured here, it is told apart from what the loaded stores hold.
      long warmHeap = liveHeap(memory);
      int warmLoaded = server.runtime().loadedStores().loaded();

      // Every store used once, four at a time: loads and evictions under the budget.
      long touchStart = System.nanoTime();
      ExecutorService pool = Executors.newFixedThreadPool(4);
      AtomicInteger next = new AtomicInteger();
      List<Future<?>> workers = new ArrayList<>();
      for (int w = 0; w < 4; w++) {
        workers.add(
            pool.submit(
                () -> {
                  for (int i = next.getAndIncrement(); i < ids.size(); i = next.getAndIncrement()) {
                    check(http, base, ids.get(i), true);
                  }
                  return null;
                }));
      }
      for (Future<?> worker : workers) {
        worker.get();
      }
      pool.shutdown();
      double touchSeconds = (System.nanoTime() - touchStart) / 1e9;
      StoreRuntime.LoadedStores loaded = server.runtime().loadedStores();
      long heapAfter = liveHeap(memory);
      System.out.printf(
          "every store used once in %.1f s (4 clients): loaded=%d loads=%d evictions=%d"
              + " index_bytes_estimate=%d budget=%d (%.0f%%)%n",
          touchSeconds,
          loaded.loaded(),
          loaded.loads(),
          loaded.evictions(),
          loaded.bytes(),
          loaded.budget(),
          100.0 * loaded.bytes() / loaded.budget());
      System.out.printf(
          "live_heap_before_start=%d live_heap_ready=%d live_heap_after=%d added_since_ready=%d"
              + " (%.0f%% of the budget) max_heap=%d live_threads_now=%d"
              + " peak_threads_since_ready=%d%n",
          heapBefore,
          heapReady,
          heapAfter,
          heapAfter - heapReady,
          100.0 * (heapAfter - heapReady) / budget,
          Runtime.getRuntime().maxMemory(),
          threads.getThreadCount(),
          threads.getPeakThreadCount());
      // Class histograms only from here on: kept in this frame, they are heap of their own.
      java.util.Map<String, long[]> afterHistogram = StoreFootprint.histogram();
      // What the loaded stores hold, exactly: the heap they release when the node lets them all go.
      letAllGo(server.runtime());
      long heapNone = liveHeap(memory);
      java.util.Map<String, long[]> noneHistogram = StoreFootprint.histogram();
      System.out.println("released by letting every store go, by class (negative: released):");
      StoreFootprint.printGrowth(afterHistogram, noneHistogram, loaded.loaded(), 15);
      System.out.printf(
          "live_heap_after_warmup=%d (%d stores loaded) added_since_warmup=%d (%.0f%% of the"
              + " budget); letting every loaded store go released %d bytes: %.1f%% of the budget,"
              + " %.1f%% of the estimate (%d bytes, %d stores)%n",
          warmHeap,
          warmLoaded,
          heapAfter - warmHeap,
          100.0 * (heapAfter - warmHeap) / budget,
          heapAfter - heapNone,
          100.0 * (heapAfter - heapNone) / budget,
          100.0 * (heapAfter - heapNone) / loaded.bytes(),
          loaded.bytes(),
          loaded.loaded());
    } finally {
      server.close();
      store.close();
    }
  }

  /**
   * Lets every loaded store go, in a frame of its own: a map of the feeds left in a local slot of
   * the caller's frame would keep them all alive through the next GC.
   */
  private static void letAllGo(StoreRuntime runtime) {
    for (String id : runtime.loadedFeeds().keySet()) {
      runtime.storeDeleted(id);
    }
  }

  /** One check of {@code doc:7 viewer user:7} (true in every store); its latency in nanoseconds. */
  private static long check(HttpClient http, String base, String storeId, boolean expected)
      throws Exception {
    HttpRequest request =
        HttpRequest.newBuilder(URI.create(base + "/stores/" + storeId + "/check"))
            .header("Authorization", "Bearer " + TOKEN)
            .header("Content-Type", "application/json")
            .POST(
                HttpRequest.BodyPublishers.ofString(
                    "{\"tuple_key\":{\"object\":\"doc:7\",\"relation\":\"viewer\","
                        + "\"user\":\"user:7\"}}"))
            .build();
    long start = System.nanoTime();
    HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
    long took = System.nanoTime() - start;
    if (response.statusCode() != 200 || !response.body().contains("\"allowed\":" + expected)) {
      throw new IllegalStateException(
          "check on " + storeId + ": " + response.statusCode() + " " + response.body());
    }
    return took;
  }

  /**
   * The tenant stores of the database, seeded when fewer than {@code stores} exist: each store, its
   * model and its tuples in three transactions, {@code threads} stores at a time.
   */
  private static List<String> seed(String url, int stores, int tuples, int threads)
      throws Exception {
    try (JdbcStore store = JdbcStore.postgres(url)) {
      List<String> ids = new ArrayList<>();
      for (StoreInfo info : store.allStores()) {
        if (info.name().startsWith("tenant-")) {
          ids.add(info.id());
        }
      }
      if (ids.size() >= stores) {
        System.out.printf("seed: %d tenant stores already in the database%n", ids.size());
        return List.copyOf(ids.subList(0, stores));
      }
      long start = System.nanoTime();
      int missing = stores - ids.size();
      ExecutorService pool = Executors.newFixedThreadPool(threads);
      List<Future<String>> made = new ArrayList<>();
      int offset = ids.size();
      for (int s = 0; s < missing; s++) {
        int n = offset + s;
        made.add(
            pool.submit(
                () -> {
                  String id = store.createStore("tenant-" + n).id();
                  store.writeModel(id, MODEL);
                  List<Tuple> writes = new ArrayList<>(tuples);
                  for (int t = 0; t < tuples; t++) {
                    writes.add(Tuple.of("doc:" + t, "viewer", "user:" + t));
                  }
                  store.write(id, new TupleWrite(writes, List.of(), false, false));
                  return id;
                }));
      }
      for (Future<String> id : made) {
        ids.add(id.get());
      }
      pool.shutdown();
      System.out.printf(
          "seed: %d stores x %d tuples written in %.1f s (%d threads)%n",
          missing, tuples, (System.nanoTime() - start) / 1e9, threads);
      return List.copyOf(ids);
    }
  }

  private static long liveHeap(MemoryMXBean memory) throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(200);
    }
    return memory.getHeapMemoryUsage().getUsed();
  }

  private static double percentile(long[] nanos, int p) {
    long[] sorted = nanos.clone();
    Arrays.sort(sorted);
    int index = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, index))] / 1e6;
  }

  private static long size(String value) {
    String v = value.trim().toLowerCase(java.util.Locale.ROOT);
    long unit = 1;
    if (v.endsWith("g")) {
      unit = 1L << 30;
    } else if (v.endsWith("m")) {
      unit = 1L << 20;
    } else if (v.endsWith("k")) {
      unit = 1L << 10;
    }
    return Long.parseLong(unit == 1 ? v : v.substring(0, v.length() - 1)) * unit;
  }
}
