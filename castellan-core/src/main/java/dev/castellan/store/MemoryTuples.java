package dev.castellan.store;

import static dev.castellan.store.MemoryTokens.decode;
import static dev.castellan.store.MemoryTokens.decodeKey;
import static dev.castellan.store.MemoryTokens.encode;
import static dev.castellan.store.MemoryTokens.encodeKey;
import static dev.castellan.store.MemoryTokens.invalidToken;

import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import org.jspecify.annotations.Nullable;

/** The tuples and changelog of a {@link MemoryStore}, per store; every access holds its monitor. */
final class MemoryTuples implements TupleStore {
  private static final Comparator<TupleKey> KEY_ORDER =
      Comparator.comparing(MemoryTuples::objectType)
          .thenComparing(MemoryTuples::objectId)
          .thenComparing(TupleKey::relation)
          .thenComparing(TupleKey::user);

  /** One store's tuples; every access holds its monitor. */
  private static final class State {
    final Tenant tenant;
    long revision;
    final TreeMap<TupleKey, StoredTuple> tuples = new TreeMap<>(KEY_ORDER);
    final List<Change> changelog = new ArrayList<>();

    State(Tenant tenant) {
      this.tenant = tenant;
    }
  }

  private final MemoryCatalog catalog;

  MemoryTuples(MemoryCatalog catalog) {
    this.catalog = catalog;
  }

  private State state(String storeId) {
    Tenant tenant = catalog.tenant(storeId);
    return tenant.part(State.class, () -> new State(tenant));
  }

  // ------------------------------------------------------------------ tuples

  @Override
  public WriteResult write(String storeId, TupleWrite write) {
    State state = state(storeId);
    WritePlanner.Checked checked = WritePlanner.check(write);
    synchronized (state) {
      Map<TupleKey, Tuple> stored = stored(state, checked.keys());
      WritePlanner.Plan plan = WritePlanner.plan(checked, stored, tuple -> tuple);
      if (plan.isEmpty()) {
        return new WriteResult(state.revision, 0, 0);
      }
      long revision = commit(state, plan);
      return new WriteResult(revision, plan.writes().size(), plan.deletes().size());
    }
  }

  /**
   * The stored tuples among {@code keys}, what a write is planned against; under the state's lock.
   */
  private static Map<TupleKey, Tuple> stored(State state, Set<TupleKey> keys) {
    Map<TupleKey, Tuple> stored = new HashMap<>();
    for (TupleKey key : keys) {
      StoredTuple existing = state.tuples.get(key);
      if (existing != null) {
        stored.put(key, existing.tuple());
      }
    }
    return stored;
  }

  /**
   * Writes the tuples among {@code writes} whose keys hold none yet ({@link WritePlanner#planNew}):
   * held rows applied by {@link MemoryPending}.
   */
  WriteResult writeNew(String storeId, List<Tuple> writes) {
    State state = state(storeId);
    WritePlanner.Checked checked = WritePlanner.check(TupleWrite.of(writes, List.of()));
    synchronized (state) {
      Map<TupleKey, Tuple> stored = stored(state, checked.keys());
      WritePlanner.Plan plan = WritePlanner.planNew(checked, stored, tuple -> tuple);
      if (plan.isEmpty()) {
        return new WriteResult(state.revision, 0, 0);
      }
      return new WriteResult(commit(state, plan), plan.writes().size(), 0);
    }
  }

  @Override
  public WriteResult deleteMatching(String storeId, TupleFilter filter) {
    WritePlanner.requireDeleteFilter(filter);
    State state = state(storeId);
    synchronized (state) {
      List<Tuple> deletes = new ArrayList<>();
      for (StoredTuple tuple : state.tuples.values()) {
        if (filter.matches(tuple.tuple().key())) {
          deletes.add(tuple.tuple());
        }
      }
      if (deletes.isEmpty()) {
        return new WriteResult(state.revision, 0, 0);
      }
      return new WriteResult(
          commit(state, new WritePlanner.Plan(deletes, List.of())), 0, deletes.size());
    }
  }

  private long commit(State state, WritePlanner.Plan plan) {
    long revision = ++state.revision;
    Instant now = catalog.clock().instant();
    for (Tuple tuple : plan.deletes()) {
      state.tuples.remove(tuple.key());
    }
    for (Tuple tuple : plan.writes()) {
      state.tuples.put(tuple.key(), new StoredTuple(tuple, now));
    }
    state.changelog.addAll(plan.changes(revision, now));
    state.tenant.touch(now);
    return revision;
  }

  @Override
  public Page<StoredTuple> read(String storeId, TupleFilter filter, PageRequest page) {
    State state = state(storeId);
    synchronized (state) {
      NavigableMap<TupleKey, StoredTuple> rest =
          page.continuationToken().isEmpty()
              ? state.tuples
              : state.tuples.tailMap(decodeKey(page.continuationToken()), false);
      List<StoredTuple> items = new ArrayList<>();
      for (StoredTuple tuple : rest.values()) {
        if (!filter.matches(tuple.tuple())) {
          continue;
        }
        if (items.size() == page.pageSize()) {
          return new Page<>(items, encodeKey(items.get(items.size() - 1).tuple().key()));
        }
        items.add(tuple);
      }
      return new Page<>(items, "");
    }
  }

  @Override
  public long snapshot(String storeId, Consumer<StoredTuple> sink) {
    State state = state(storeId);
    List<StoredTuple> copy;
    long revision;
    synchronized (state) {
      copy = new ArrayList<>(state.tuples.values());
      revision = state.revision;
    }
    copy.forEach(sink);
    return revision;
  }

  @Override
  public long revision(String storeId) {
    State state = state(storeId);
    synchronized (state) {
      return state.revision;
    }
  }

  // ------------------------------------------------------------------ changelog

  @Override
  public List<Change> changesAfter(String storeId, long revision, int limit) {
    State state = state(storeId);
    synchronized (state) {
      List<Change> out = new ArrayList<>();
      int start = firstAfter(state.changelog, revision);
      for (int i = start; i < state.changelog.size(); i++) {
        Change change = state.changelog.get(i);
        if (out.size() >= limit && change.revision() != out.get(out.size() - 1).revision()) {
          break;
        }
        out.add(change);
      }
      return out;
    }
  }

  private static int firstAfter(List<Change> changelog, long revision) {
    int low = 0;
    int high = changelog.size();
    while (low < high) {
      int middle = (low + high) >>> 1;
      if (changelog.get(middle).revision() <= revision) {
        low = middle + 1;
      } else {
        high = middle;
      }
    }
    return low;
  }

  @Override
  public Page<Change> readChanges(
      String storeId, String objectType, @Nullable Instant startTime, PageRequest page) {
    State state = state(storeId);
    long afterRevision = -1;
    int afterSequence = -1;
    if (!page.continuationToken().isEmpty()) {
      String[] parts = decode(page.continuationToken()).split(":");
      try {
        afterRevision = Long.parseLong(parts[0]);
        afterSequence = Integer.parseInt(parts[1]);
      } catch (RuntimeException e) {
        throw invalidToken();
      }
    }
    synchronized (state) {
      List<Change> items = new ArrayList<>();
      for (Change change : state.changelog) {
        boolean after =
            change.revision() > afterRevision
                || (change.revision() == afterRevision && change.sequence() > afterSequence);
        if (!after
            || (startTime != null && change.time().isBefore(startTime))
            || (!objectType.isEmpty()
                && !change.tuple().key().object().startsWith(objectType + ":"))) {
          continue;
        }
        if (items.size() == page.pageSize()) {
          break;
        }
        items.add(change);
      }
      if (items.isEmpty()) {
        return new Page<>(items, page.continuationToken());
      }
      Change last = items.get(items.size() - 1);
      return new Page<>(items, encode(last.revision() + ":" + last.sequence()));
    }
  }

  @Override
  public int purgeExpired(String storeId, Instant now) {
    State state = state(storeId);
    synchronized (state) {
      List<Tuple> expired = new ArrayList<>();
      for (StoredTuple tuple : state.tuples.values()) {
        if (WritePlanner.isExpired(tuple.tuple(), now)) {
          expired.add(tuple.tuple());
        }
      }
      if (!expired.isEmpty()) {
        commit(state, new WritePlanner.Plan(expired, List.of()));
      }
      return expired.size();
    }
  }

  private static String objectType(TupleKey key) {
    int colon = key.object().indexOf(':');
    return colon < 0 ? key.object() : key.object().substring(0, colon);
  }

  private static String objectId(TupleKey key) {
    int colon = key.object().indexOf(':');
    return colon < 0 ? "" : key.object().substring(colon + 1);
  }
}
