package dev.castellan.bench;

import dev.castellan.engine.CheckRequest;
import dev.castellan.engine.Engine;
import dev.castellan.engine.Tuple;
import dev.castellan.model.AuthorizationModel;
import dev.castellan.model.ModelDsl;
import dev.castellan.server.StoreRuntime;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.StoreInfo;
import dev.castellan.store.TupleWrite;
import dev.castellan.store.jdbc.JdbcStore;
import java.lang.management.ManagementFactory;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.management.ObjectName;

/**
 * Issue 14 point 3, "heap within the budget": what one loaded small store really holds on the heap
 * (its index, its compiled engine, the node's entry for it) against what the node's estimate counts
 * for it. Seeds {@code --stores} stores of {@code --tuples} tuples in PostgreSQL (once; reused by
 * later runs), then loads every one into a {@link StoreRuntime} with a budget too large to evict
 * and makes its engine with one check; the live heap after a full GC, before and after, divided by
 * the store count, is the figure, set beside the estimate. A class histogram of the difference says
 * what the heap holds. Memory, not time: valid on a busy machine.
 *
 * <p>Run: {@code java -Xmx1g -cp castellan-benchmarks.jar dev.castellan.bench.StoreFootprint
 * --pg-url 'jdbc:postgresql://127.0.0.1:5432/castellan_footprint?user=postgres' [--stores 1000]
 * [--tuples 100] [--model tiny|rag] [--classes 25]}.
 */
public final class StoreFootprint {
  private static final Map<String, String> MODELS =
      Map.of(
          "tiny",
          """
          model
            schema 1.1
          type user
          type doc
            relations
              define viewer: [user]
          """,
          "rag",
          """
          model
            schema 1.1
          type user
          type organization
            relations
              define member: [user]
          type group
            relations
              define member: [user, group#member]
          type folder
            relations
              define parent: [folder]
              define owner: [user]
              define viewer: [user, group#member, organization#member] or owner or viewer from parent
          type document
            relations
              define parent: [folder]
              define owner: [user]
              define blocked: [user]
              define viewer: [user, user:*, group#member, organization#member with from_office_network]
              define can_view: (viewer or owner or viewer from parent) but not blocked
          condition from_office_network(client_ip: ipaddress) {
            client_ip.in_cidr("10.0.0.0/8")
          }
          """);

  private StoreFootprint() {}

  public static void main(String[] args) throws Exception {
    String url = "jdbc:postgresql://127.0.0.1:5432/castellan_footprint?user=postgres";
    int stores = 1_000;
    int tuples = 100;
    String modelName = "tiny";
    int classes = 25;
    for (int i = 0; i < args.length; i += 2) {
      String value = args[i + 1];
      switch (args[i]) {
        case "--pg-url" -> url = value;
        case "--stores" -> stores = Integer.parseInt(value);
        case "--tuples" -> tuples = Integer.parseInt(value);
        case "--model" -> modelName = value;
        case "--classes" -> classes = Integer.parseInt(value);
        default -> throw new IllegalArgumentException("unknown option " + args[i]);
      }
    }
    String dsl = MODELS.get(modelName);
    if (dsl == null) {
      throw new IllegalArgumentException("--model is one of " + MODELS.keySet());
    }
    AuthorizationModel model = ModelDsl.parse(dsl);
    try (JdbcStore store = JdbcStore.postgres(url)) {
      List<String> ids =
          seed(store, "footprint-" + modelName + "-" + tuples + "-", model, stores, tuples);
      try (StoreRuntime runtime =
          new StoreRuntime(
              store,
              IndexFeed.Options.DEFAULT,
              Duration.ofSeconds(10),
              Clock.systemUTC(),
              false,
              Long.MAX_VALUE / 4)) {
        // Warm up on a store of its own: classes, the change feed's first poll, CEL's statics.
        use(runtime, ids.get(ids.size() - 1), modelName);
        List<String> measured = ids.subList(0, ids.size() - 1);
        long estimateBefore = runtime.loadedStores().bytes();
        Map<String, long[]> histogramBefore = histogram();
        long before = liveHeap();
        for (String id : measured) {
          use(runtime, id, modelName);
        }
        long after = liveHeap();
        Map<String, long[]> histogramAfter = histogram();
        StoreRuntime.LoadedStores loaded = runtime.loadedStores();
        long estimate = loaded.bytes() - estimateBefore;
        int n = measured.size();
        long live = after - before;
        System.out.printf(
            "model=%s stores=%d tuples_per_store=%d loaded=%d live_heap_added=%d"
                + " live_bytes_per_store=%.0f estimate_per_store=%.0f estimate/live=%.2f%n",
            modelName,
            n,
            tuples,
            loaded.loaded(),
            live,
            live / (double) n,
            estimate / (double) n,
            estimate / (double) live);
        printGrowth(histogramBefore, histogramAfter, n, classes);
        // Letting them all go must give the heap back: nothing else may keep a store's parts.
        for (String id : measured) {
          runtime.storeDeleted(id);
        }
        long released = after - liveHeap();
        System.out.printf(
            "letting the %d stores go released %d bytes (%.0f%% of what they added)%n",
            n, released, 100.0 * released / live);
      }
    }
  }

  /** Loads the store, makes its engine for its latest model and answers one check with it. */
  private static void use(StoreRuntime runtime, String storeId, String modelName) {
    Engine engine = runtime.engine(storeId, "", "", false);
    String object = modelName.equals("tiny") ? "doc:7" : "document:7";
    String relation = modelName.equals("tiny") ? "viewer" : "can_view";
    engine.check(new CheckRequest(object, relation, "user:7", List.of(), Map.of(), false));
  }

  private static List<String> seed(
      JdbcStore store, String prefix, AuthorizationModel model, int stores, int tuples)
      throws Exception {
    List<String> ids = new ArrayList<>();
    for (StoreInfo info : store.allStores()) {
      if (info.name().startsWith(prefix)) {
        ids.add(info.id());
      }
    }
    for (int n = ids.size(); n < stores; n++) {
      String id = store.createStore(prefix + n).id();
      store.writeModel(id, model);
      List<Tuple> writes = new ArrayList<>(tuples);
      for (int t = 0; t < tuples; t++) {
        writes.add(tuple(prefix, t));
      }
      store.write(id, new TupleWrite(writes, List.of(), false, false));
      ids.add(id);
    }
    return List.copyOf(ids.subList(0, stores));
  }

  /** A tuple of the model: plain viewers for tiny; for rag a mix of parents, owners and groups. */
  private static Tuple tuple(String prefix, int t) {
    if (prefix.startsWith("footprint-tiny")) {
      return Tuple.of("doc:" + t, "viewer", "user:" + t);
    }
    return switch (t % 4) {
      case 0 -> Tuple.of("document:" + t, "parent", "folder:" + t / 10);
      case 1 -> Tuple.of("document:" + t, "viewer", "user:" + t);
      case 2 -> Tuple.of("folder:" + t / 10, "owner", "user:" + t);
      default -> Tuple.of("group:" + t / 20, "member", "user:" + t);
    };
  }

  private static long liveHeap() throws InterruptedException {
    for (int i = 0; i < 3; i++) {
      System.gc();
      Thread.sleep(100);
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** The JVM's class histogram of live objects (a full GC first): class -> {instances, bytes}. */
  static Map<String, long[]> histogram() throws Exception {
    String text =
        (String)
            ManagementFactory.getPlatformMBeanServer()
                .invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"),
                    "gcClassHistogram",
                    new Object[] {new String[0]},
                    new String[] {String[].class.getName()});
    Map<String, long[]> out = new HashMap<>();
    for (String line : text.split("\n")) {
      String[] parts = line.trim().split("\\s+");
      if (parts.length >= 4 && parts[0].endsWith(":")) {
        out.put(parts[3], new long[] {Long.parseLong(parts[1]), Long.parseLong(parts[2])});
      }
    }
    return out;
  }

  static void printGrowth(
      Map<String, long[]> before, Map<String, long[]> after, int stores, int limit) {
    List<Map.Entry<String, long[]>> growth = new ArrayList<>();
    long total = 0;
    for (Map.Entry<String, long[]> e : after.entrySet()) {
      long[] was = before.getOrDefault(e.getKey(), new long[2]);
      long[] delta = {e.getValue()[0] - was[0], e.getValue()[1] - was[1]};
      total += delta[1];
      growth.add(Map.entry(e.getKey(), delta));
    }
    growth.sort((a, b) -> Long.compare(b.getValue()[1], a.getValue()[1]));
    System.out.printf(
        "class histogram growth: %d bytes, %.0f per store%n", total, total / (double) stores);
    System.out.println("  bytes/store  objects/store  class");
    for (Map.Entry<String, long[]> e : growth.subList(0, Math.min(limit, growth.size()))) {
      System.out.printf(
          "  %11.1f  %13.2f  %s%n",
          e.getValue()[1] / (double) stores, e.getValue()[0] / (double) stores, e.getKey());
    }
  }
}
