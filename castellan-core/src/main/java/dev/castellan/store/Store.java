package dev.castellan.store;

import dev.castellan.audit.AuditRecords;
import dev.castellan.model.AuthorizationModel;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Durable state of Castellan. Every tuple write is one transaction that takes the next revision of
 * its store: revisions of a store commit in order and without gaps, and each write appends its
 * changes to the store's changelog under that revision.
 *
 * <p>Methods that name a store throw {@code STORE_ID_NOT_FOUND} when it does not exist (or was
 * deleted). Failures of the database surface as {@code STORE_UNAVAILABLE}, never as raw SQL errors.
 */
public interface Store extends AutoCloseable {

  /** Most tuples one write may carry, unless configured otherwise (OpenFGA's default). */
  int DEFAULT_MAX_TUPLES_PER_WRITE = 100;

  // ------------------------------------------------------------------ stores

  StoreInfo createStore(String name);

  Optional<StoreInfo> getStore(String storeId);

  /** Live stores, oldest first. */
  Page<StoreInfo> listStores(PageRequest page);

  /** Every live store, oldest first, read page by page. */
  default List<StoreInfo> allStores() {
    List<StoreInfo> all = new java.util.ArrayList<>();
    String token = "";
    do {
      Page<StoreInfo> page = listStores(new PageRequest(PageRequest.MAX_PAGE_SIZE, token));
      all.addAll(page.items());
      token = page.continuationToken();
    } while (!token.isEmpty());
    return all;
  }

  /** Deletes a store and everything in it; false when there was no such store. */
  boolean deleteStore(String storeId);

  // ------------------------------------------------------------------ models

  /** Stores an immutable model and returns its id, a ULID (so ids sort by creation time). */
  String writeModel(String storeId, AuthorizationModel model);

  Optional<StoredModel> readModel(String storeId, String modelId);

  Optional<StoredModel> latestModel(String storeId);

  /** Models of a store, newest first (as OpenFGA lists them). */
  Page<StoredModel> listModels(String storeId, PageRequest page);

  // ------------------------------------------------------------------ tuples

  /**
   * Applies deletes then writes atomically under the store's next revision.
   *
   * @throws dev.castellan.CastellanException {@code WRITE_FAILED_DUE_TO_INVALID_INPUT} when a tuple
   *     exists (or is missing, for a delete) and the request does not ask to ignore that; nothing
   *     is written then
   */
  WriteResult write(String storeId, TupleWrite write);

  /**
   * Deletes every tuple matching {@code filter} (which must name an object, a user, or an object
   * type and relation) in one revision; a write with no match takes no revision.
   */
  WriteResult deleteMatching(String storeId, TupleFilter filter);

  /**
   * Bulk load: writes {@code tuples} in batches of {@code batchSize}, one revision per batch,
   * skipping tuples that already exist. Batches committed before a failure stay committed; {@code
   * progress} hears the running count after each batch.
   */
  default WriteResult importTuples(
      String storeId,
      java.util.Iterator<dev.castellan.engine.Tuple> tuples,
      int batchSize,
      java.util.function.LongConsumer progress) {
    long revision = revision(storeId);
    long written = 0;
    long consumed = 0;
    // Keyed by tuple key: a tuple repeated within a batch counts once, like one already stored.
    java.util.Map<dev.castellan.engine.TupleKey, dev.castellan.engine.Tuple> batch =
        new java.util.LinkedHashMap<>();
    while (tuples.hasNext()) {
      dev.castellan.engine.Tuple tuple = tuples.next();
      batch.putIfAbsent(tuple.key(), tuple);
      consumed++;
      if (batch.size() == batchSize || !tuples.hasNext()) {
        WriteResult result =
            write(storeId, new TupleWrite(List.copyOf(batch.values()), List.of(), true, false));
        revision = result.revision();
        written += result.written();
        batch.clear();
        progress.accept(consumed);
      }
    }
    return new WriteResult(revision, (int) written, 0);
  }

  /** Tuples matching {@code filter}, in a stable order, a page at a time. */
  Page<StoredTuple> read(String storeId, TupleFilter filter, PageRequest page);

  /**
   * Streams every tuple of the store as of one revision to {@code sink} and returns that revision.
   * Used to load a node's index.
   */
  long snapshot(String storeId, java.util.function.Consumer<StoredTuple> sink);

  /** The store's latest committed revision (0 before its first write). */
  long revision(String storeId);

  // ------------------------------------------------------------------ changelog

  /**
   * Changes after {@code revision}, in revision and sequence order (a revision's deletes before its
   * writes), about {@code limit}: whole revisions only, never a part of one, so a revision larger
   * than the limit is returned whole. Bulk imports therefore commit in revisions of bounded size.
   */
  List<Change> changesAfter(String storeId, long revision, int limit);

  /**
   * OpenFGA's read-changes: changes of objects of {@code objectType} (all when empty), oldest
   * first, from {@code startTime} (null: the beginning). Unlike other pages, the token is never
   * empty once a change was returned: it marks the position after the last change, so a client
   * polls with it for what comes next; an empty page means nothing newer yet.
   */
  Page<Change> readChanges(String storeId, String objectType, Instant startTime, PageRequest page);

  /** Deletes tuples expired at {@code now}, recording the deletions in one revision; the count. */
  int purgeExpired(String storeId, Instant now);

  // ------------------------------------------------------------------ assertions

  /** Replaces the assertions of a model; they are kept as the JSON document the API received. */
  void writeAssertions(String storeId, String modelId, String assertionsJson);

  /** The assertions JSON of a model, or {@code "[]"}. */
  String readAssertions(String storeId, String modelId);

  // ------------------------------------------------------------------ credentials

  /** Saves an API key record (its hash only); replaces one with the same id. */
  void saveApiKey(ApiKeyRecord key);

  Optional<ApiKeyRecord> apiKey(String id);

  /** Every API key, oldest first. */
  List<ApiKeyRecord> apiKeys();

  /** Deletes an API key; false when there was none. */
  boolean revokeApiKey(String id);

  // ------------------------------------------------------------------ documents

  /**
   * A small JSON document kept beside the tuples (a role's name and description, for instance), or
   * empty. Documents describe; decisions never read them.
   */
  Optional<String> document(String kind, String key);

  /** Every document of {@code kind}, ordered by key. */
  java.util.SortedMap<String, String> documents(String kind);

  /** Saves a new document; false, and nothing changed, when {@code kind/key} exists. */
  boolean createDocument(String kind, String key, String json);

  /** Saves a document, replacing any with the same kind and key. */
  void putDocument(String kind, String key, String json);

  /** Deletes a document; false when there was none. */
  boolean deleteDocument(String kind, String key);

  // ------------------------------------------------------------------ audit

  /** The audit trail's hash chain in this store's database. */
  AuditRecords auditRecords();

  @Override
  void close();
}
