package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.audit.AuditRecords;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import dev.castellan.model.AuthorizationModel;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.function.Consumer;

/**
 * A {@link Store} held in memory: for tests and for embedding Castellan in another program. It
 * keeps the same contract as the durable stores (revisions, changelog, errors), and nothing after
 * the process ends. Its audit trail keeps the newest 1,000,000 entries.
 */
public final class MemoryStore implements Store {

  private static final Comparator<TupleKey> KEY_ORDER =
      Comparator.comparing(MemoryStore::objectType)
          .thenComparing(MemoryStore::objectId)
          .thenComparing(TupleKey::relation)
          .thenComparing(TupleKey::user);

  private final Clock clock;
  private final ConcurrentSkipListMap<String, State> stores = new ConcurrentSkipListMap<>();
  private final AuditRecords audit = AuditRecords.inMemory(AuditRecords.DEFAULT_MEMORY_CAPACITY);

  /** One store's data; every access holds its monitor. */
  private static final class State {
    final String id;
    final String name;
    final Instant createdAt;
    Instant updatedAt;
    long revision;
    final TreeMap<TupleKey, StoredTuple> tuples = new TreeMap<>(KEY_ORDER);
    final TreeMap<String, StoredModel> models = new TreeMap<>();
    final List<Change> changelog = new ArrayList<>();
    final Map<String, String> assertions = new HashMap<>();

    State(String id, String name, Instant createdAt) {
      this.id = id;
      this.name = name;
      this.createdAt = createdAt;
      this.updatedAt = createdAt;
    }

    StoreInfo info() {
      return new StoreInfo(id, name, createdAt, updatedAt);
    }
  }

  public MemoryStore() {
    this(Clock.systemUTC());
  }

  public MemoryStore(Clock clock) {
    this.clock = clock;
  }

  // ------------------------------------------------------------------ stores

  @Override
  public StoreInfo createStore(String name) {
    State state = new State(Ulids.next(), name, clock.instant());
    stores.put(state.id, state);
    return state.info();
  }

  @Override
  public Optional<StoreInfo> getStore(String storeId) {
    State state = stores.get(storeId);
    return state == null ? Optional.empty() : Optional.of(state.info());
  }

  @Override
  public Page<StoreInfo> listStores(PageRequest page) {
    NavigableMap<String, State> rest =
        page.continuationToken().isEmpty()
            ? stores
            : stores.tailMap(decode(page.continuationToken()), false);
    List<StoreInfo> items = new ArrayList<>();
    for (State state : rest.values()) {
      if (items.size() == page.pageSize()) {
        return new Page<>(items, encode(items.get(items.size() - 1).id()));
      }
      items.add(state.info());
    }
    return new Page<>(items, "");
  }

  @Override
  public boolean deleteStore(String storeId) {
    return stores.remove(storeId) != null;
  }

  // ------------------------------------------------------------------ models

  @Override
  public String writeModel(String storeId, AuthorizationModel model) {
    State state = state(storeId);
    synchronized (state) {
      String id = Ulids.next();
      state.models.put(id, new StoredModel(id, model, clock.instant()));
      return id;
    }
  }

  @Override
  public Optional<StoredModel> readModel(String storeId, String modelId) {
    State state = state(storeId);
    synchronized (state) {
      return Optional.ofNullable(state.models.get(modelId));
    }
  }

  @Override
  public Optional<StoredModel> latestModel(String storeId) {
    State state = state(storeId);
    synchronized (state) {
      return state.models.isEmpty()
          ? Optional.empty()
          : Optional.of(state.models.lastEntry().getValue());
    }
  }

  @Override
  public Page<StoredModel> listModels(String storeId, PageRequest page) {
    State state = state(storeId);
    synchronized (state) {
      NavigableMap<String, StoredModel> newestFirst =
          page.continuationToken().isEmpty()
              ? state.models.descendingMap()
              : state.models.headMap(decode(page.continuationToken()), false).descendingMap();
      List<StoredModel> items = new ArrayList<>();
      for (StoredModel model : newestFirst.values()) {
        if (items.size() == page.pageSize()) {
          return new Page<>(items, encode(items.get(items.size() - 1).id()));
        }
        items.add(model);
      }
      return new Page<>(items, "");
    }
  }

  // ------------------------------------------------------------------ tuples

  @Override
  public WriteResult write(String storeId, TupleWrite write) {
    State state = state(storeId);
    WritePlanner.Checked checked = WritePlanner.check(write);
    synchronized (state) {
      Map<TupleKey, Tuple> stored = new HashMap<>();
      for (TupleKey key : checked.keys()) {
        StoredTuple existing = state.tuples.get(key);
        if (existing != null) {
          stored.put(key, existing.tuple());
        }
      }
      WritePlanner.Plan plan = WritePlanner.plan(checked, stored, tuple -> tuple);
      if (plan.isEmpty()) {
        return new WriteResult(state.revision, 0, 0);
      }
      long revision = commit(state, plan);
      return new WriteResult(revision, plan.writes().size(), plan.deletes().size());
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
    Instant now = clock.instant();
    for (Tuple tuple : plan.deletes()) {
      state.tuples.remove(tuple.key());
    }
    for (Tuple tuple : plan.writes()) {
      state.tuples.put(tuple.key(), new StoredTuple(tuple, now));
    }
    state.changelog.addAll(plan.changes(revision, now));
    state.updatedAt = now;
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
      String storeId, String objectType, Instant startTime, PageRequest page) {
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

  // ------------------------------------------------------------------ assertions

  @Override
  public void writeAssertions(String storeId, String modelId, String assertionsJson) {
    State state = state(storeId);
    synchronized (state) {
      state.assertions.put(modelId, assertionsJson);
    }
  }

  @Override
  public String readAssertions(String storeId, String modelId) {
    State state = state(storeId);
    synchronized (state) {
      return state.assertions.getOrDefault(modelId, "[]");
    }
  }

  // ------------------------------------------------------------------ credentials

  private final java.util.concurrent.ConcurrentSkipListMap<String, String> documents =
      new java.util.concurrent.ConcurrentSkipListMap<>();

  private static String documentKey(String kind, String key) {
    return kind + '\u0000' + key;
  }

  @Override
  public Optional<String> document(String kind, String key) {
    return Optional.ofNullable(documents.get(documentKey(kind, key)));
  }

  @Override
  public java.util.SortedMap<String, String> documents(String kind) {
    java.util.SortedMap<String, String> out = new java.util.TreeMap<>();
    documents
        .subMap(kind + '\u0000', kind + '\u0001')
        .forEach((k, v) -> out.put(k.substring(kind.length() + 1), v));
    return out;
  }

  @Override
  public boolean createDocument(String kind, String key, String json) {
    return documents.putIfAbsent(documentKey(kind, key), json) == null;
  }

  @Override
  public void putDocument(String kind, String key, String json) {
    documents.put(documentKey(kind, key), json);
  }

  @Override
  public boolean deleteDocument(String kind, String key) {
    return documents.remove(documentKey(kind, key)) != null;
  }

  private final Map<String, ApiKeyRecord> apiKeys = new java.util.concurrent.ConcurrentHashMap<>();

  @Override
  public void saveApiKey(ApiKeyRecord key) {
    apiKeys.put(key.id(), key);
  }

  @Override
  public Optional<ApiKeyRecord> apiKey(String id) {
    return Optional.ofNullable(apiKeys.get(id));
  }

  @Override
  public List<ApiKeyRecord> apiKeys() {
    List<ApiKeyRecord> all = new ArrayList<>(apiKeys.values());
    all.sort(Comparator.comparing(ApiKeyRecord::createdAt).thenComparing(ApiKeyRecord::id));
    return all;
  }

  @Override
  public boolean revokeApiKey(String id) {
    return apiKeys.remove(id) != null;
  }

  @Override
  public AuditRecords auditRecords() {
    return audit;
  }

  @Override
  public void close() {}

  // ------------------------------------------------------------------ helpers

  private State state(String storeId) {
    State state = stores.get(storeId);
    if (state == null) {
      throw new CastellanException(ErrorCode.STORE_ID_NOT_FOUND, "store " + storeId + " not found");
    }
    return state;
  }

  private static String objectType(TupleKey key) {
    int colon = key.object().indexOf(':');
    return colon < 0 ? key.object() : key.object().substring(0, colon);
  }

  private static String objectId(TupleKey key) {
    int colon = key.object().indexOf(':');
    return colon < 0 ? "" : key.object().substring(colon + 1);
  }

  private static String encode(String raw) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(("m1:" + raw).getBytes(StandardCharsets.UTF_8));
  }

  private static String decode(String token) {
    try {
      String raw = new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
      if (!raw.startsWith("m1:")) {
        throw invalidToken();
      }
      return raw.substring(3);
    } catch (IllegalArgumentException e) {
      throw invalidToken();
    }
  }

  private static String encodeKey(TupleKey key) {
    return encode(key.object() + "\n" + key.relation() + "\n" + key.user());
  }

  private static TupleKey decodeKey(String token) {
    String[] parts = decode(token).split("\n", -1);
    if (parts.length != 3) {
      throw invalidToken();
    }
    return new TupleKey(parts[0], parts[1], parts[2]);
  }

  private static CastellanException invalidToken() {
    return new CastellanException(
        ErrorCode.INVALID_CONTINUATION_TOKEN, "continuation_token is not valid for this request");
  }
}
