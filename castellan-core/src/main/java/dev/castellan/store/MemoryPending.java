package dev.castellan.store;

import static dev.castellan.store.MemoryTokens.decode;
import static dev.castellan.store.MemoryTokens.encode;
import static dev.castellan.store.MemoryTokens.invalidToken;

import dev.castellan.engine.Tuple;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The held rows of a {@link MemoryStore}, per store (deleting the store drops them). One monitor
 * guards every store's rows, and {@link #apply} writes through {@link MemoryTuples} while holding
 * it, so a claim and its write are one step.
 */
final class MemoryPending implements PendingStore {
  static final Comparator<Identity> IDENTITY_ORDER =
      Comparator.comparing(Identity::kind)
          .thenComparing(Identity::namespace)
          .thenComparing(Identity::value);

  /** A row's key within its store. */
  private record Key(String object, String relation, Identity identity) {
    static Key of(PendingTuple row) {
      return new Key(row.object(), row.relation(), row.identity());
    }
  }

  /** One store's rows, by id and by key. */
  private static final class Rows {
    final TreeMap<String, HeldTuple> byId = new TreeMap<>();
    final Map<Key, String> idsByKey = new HashMap<>();
  }

  private final MemoryCatalog catalog;
  private final MemoryTuples tuples;
  private final Clock clock;

  MemoryPending(MemoryCatalog catalog, MemoryTuples tuples, Clock clock) {
    this.catalog = catalog;
    this.tuples = tuples;
    this.clock = clock;
  }

  private Rows rows(String storeId) {
    return catalog.tenant(storeId).part(Rows.class, Rows::new);
  }

  @Override
  public synchronized int hold(String storeId, List<PendingTuple> batch) {
    PendingStore.checkBatch(batch);
    Rows rows = rows(storeId);
    Map<Key, PendingTuple> fresh = new java.util.LinkedHashMap<>();
    for (PendingTuple row : batch) {
      Key key = Key.of(row);
      if (!rows.idsByKey.containsKey(key)) {
        fresh.putIfAbsent(key, row);
      }
    }
    if (rows.byId.size() + fresh.size() > MAX_PER_STORE) {
      throw PendingStore.full(storeId, rows.byId.size(), fresh.size());
    }
    Instant now = clock.instant().truncatedTo(ChronoUnit.MICROS);
    for (Map.Entry<Key, PendingTuple> entry : fresh.entrySet()) {
      HeldTuple held = new HeldTuple(Ulids.next(), storeId, entry.getValue(), now);
      rows.byId.put(held.id(), held);
      rows.idsByKey.put(entry.getKey(), held.id());
    }
    return fresh.size();
  }

  @Override
  public synchronized Page<HeldTuple> held(String storeId, PageRequest page) {
    Rows rows = rows(storeId);
    Map<String, HeldTuple> rest =
        page.continuationToken().isEmpty()
            ? rows.byId
            : rows.byId.tailMap(decode(page.continuationToken()), false);
    List<HeldTuple> items = new ArrayList<>();
    for (HeldTuple row : rest.values()) {
      if (items.size() == page.pageSize()) {
        return new Page<>(items, encode(items.getLast().id()));
      }
      items.add(row);
    }
    return new Page<>(items, "");
  }

  @Override
  public synchronized long count(String storeId) {
    return rows(storeId).byId.size();
  }

  @Override
  public synchronized int drop(String storeId, String source) {
    PendingTuple.checkSource(source);
    Rows rows = rows(storeId);
    List<HeldTuple> dropped =
        rows.byId.values().stream().filter(r -> r.tuple().source().equals(source)).toList();
    dropped.forEach(r -> remove(rows, r));
    return dropped.size();
  }

  private static void remove(Rows rows, HeldTuple row) {
    rows.byId.remove(row.id());
    rows.idsByKey.remove(Key.of(row.tuple()));
  }

  @Override
  public synchronized Page<Identity> identities(PageRequest page) {
    TreeSet<Identity> all = new TreeSet<>(IDENTITY_ORDER);
    for (Tenant tenant : catalog.tenants()) {
      tenant.part(Rows.class, Rows::new).byId.values().forEach(r -> all.add(r.tuple().identity()));
    }
    TreeSet<Identity> rest =
        page.continuationToken().isEmpty()
            ? all
            : new TreeSet<>(all.tailSet(decodeIdentity(page.continuationToken()), false));
    List<Identity> items = new ArrayList<>();
    for (Identity identity : rest) {
      if (items.size() == page.pageSize()) {
        Identity last = items.getLast();
        return new Page<>(
            items, encode(last.kind() + "\n" + last.namespace() + "\n" + last.value()));
      }
      items.add(identity);
    }
    return new Page<>(items, "");
  }

  private static Identity decodeIdentity(String token) {
    String[] parts = decode(token).split("\n", -1);
    if (parts.length != 3) {
      throw invalidToken();
    }
    try {
      return new Identity(parts[0], parts[1], parts[2]);
    } catch (RuntimeException e) {
      throw invalidToken();
    }
  }

  @Override
  public synchronized List<String> storesHolding(Identity identity) {
    List<String> out = new ArrayList<>();
    for (Tenant tenant : catalog.tenants()) {
      Rows rows = tenant.part(Rows.class, Rows::new);
      if (rows.byId.values().stream().anyMatch(r -> r.tuple().identity().equals(identity))) {
        out.add(tenant.id());
      }
    }
    return out;
  }

  @Override
  public synchronized Applied apply(
      String storeId, Identity identity, String user, Function<Tuple, Optional<String>> refusal) {
    Rows rows = rows(storeId);
    List<HeldTuple> claimed =
        rows.byId.values().stream().filter(r -> r.tuple().identity().equals(identity)).toList();
    if (claimed.isEmpty()) {
      return new Applied(List.of(), 0, List.of(), tuples.revision(storeId));
    }
    Split split = PendingStore.split(claimed, user, refusal);
    // The write first: when it fails, every row is still held.
    WriteResult result = tuples.writeNew(storeId, split.writes());
    claimed.forEach(r -> remove(rows, r));
    return new Applied(split.applied(), result.written(), split.refused(), result.revision());
  }
}
