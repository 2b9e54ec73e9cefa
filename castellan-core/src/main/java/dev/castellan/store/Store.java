package dev.castellan.store;

import dev.castellan.audit.AuditRecords;
import dev.castellan.engine.Tuple;
import dev.castellan.model.AuthorizationModel;
import java.time.Instant;
import java.util.Collection;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SortedMap;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.jspecify.annotations.Nullable;

/**
 * Everything one database holds, as one object for wiring: the {@link StoreCatalog}, the {@link
 * TupleStore}, the {@link ModelStore}, the {@link CredentialStore}, the {@link DocumentStore} and
 * the audit chain ({@link AuditRecords}). An implementation supplies the parts; every method here
 * forwards to the part that owns it. Code that uses the data takes the narrow interface it needs,
 * not this one; a new kind of data gets an interface and a part of its own rather than growing one
 * of these.
 *
 * <p>Methods that name a store throw {@code STORE_ID_NOT_FOUND} when it does not exist (or was
 * deleted). Failures of the database surface as {@code STORE_UNAVAILABLE}, never as raw SQL errors.
 */
public interface Store
    extends StoreCatalog, TupleStore, ModelStore, CredentialStore, DocumentStore, AutoCloseable {

  /** The stores (tenants) of this database. */
  StoreCatalog storeCatalog();

  /** Tuples and the changelog. */
  TupleStore tupleStore();

  /** Authorization models and assertions. */
  ModelStore modelStore();

  /** API key records. */
  CredentialStore credentialStore();

  /** Small documents. */
  DocumentStore documentStore();

  /**
   * The node's user directory. Unlike the other parts it is reached only through this accessor: no
   * existing call site needs its methods on the facade.
   */
  DirectoryStore directoryStore();

  /**
   * Tuples held for people the directory does not know yet (ADR 0024); reached only through this
   * accessor, as the directory is.
   */
  PendingStore pendingStore();

  /** The audit trail's hash chain in this store's database. */
  AuditRecords auditRecords();

  /** Closes the database connections (and listeners) behind every part. */
  @Override
  void close();

  // ------------------------------------------------------------------ forwarded to the parts

  @Override
  default StoreInfo createStore(String name) {
    return storeCatalog().createStore(name);
  }

  @Override
  default Optional<StoreInfo> getStore(String storeId) {
    return storeCatalog().getStore(storeId);
  }

  @Override
  default Page<StoreInfo> listStores(PageRequest page) {
    return storeCatalog().listStores(page);
  }

  @Override
  default List<StoreInfo> allStores() {
    return storeCatalog().allStores();
  }

  @Override
  default boolean deleteStore(String storeId) {
    return storeCatalog().deleteStore(storeId);
  }

  @Override
  default WriteResult write(String storeId, TupleWrite write) {
    return tupleStore().write(storeId, write);
  }

  @Override
  default WriteResult deleteMatching(String storeId, TupleFilter filter) {
    return tupleStore().deleteMatching(storeId, filter);
  }

  @Override
  default WriteResult importTuples(
      String storeId, Iterator<Tuple> tuples, int batchSize, LongConsumer progress) {
    return tupleStore().importTuples(storeId, tuples, batchSize, progress);
  }

  @Override
  default Page<StoredTuple> read(String storeId, TupleFilter filter, PageRequest page) {
    return tupleStore().read(storeId, filter, page);
  }

  @Override
  default long snapshot(String storeId, Consumer<StoredTuple> sink) {
    return tupleStore().snapshot(storeId, sink);
  }

  @Override
  default long revision(String storeId) {
    return tupleStore().revision(storeId);
  }

  @Override
  default Map<String, Long> revisions(Collection<String> storeIds) {
    return tupleStore().revisions(storeIds);
  }

  /**
   * Calls {@code storeIdCallback} with the id of a store each time a write to it commits, from any
   * process writing to the same database, where the database can push that (PostgreSQL's
   * LISTEN/NOTIFY). Notifications are hints that let a {@link ChangeFeed} apply a change before its
   * next poll; the poll alone converges. This default pushes nothing.
   *
   * @return closing it stops listening
   */
  default AutoCloseable listen(Consumer<String> storeIdCallback) {
    return () -> {};
  }

  @Override
  default List<Change> changesAfter(String storeId, long revision, int limit) {
    return tupleStore().changesAfter(storeId, revision, limit);
  }

  @Override
  default Page<Change> readChanges(
      String storeId, String objectType, @Nullable Instant startTime, PageRequest page) {
    return tupleStore().readChanges(storeId, objectType, startTime, page);
  }

  @Override
  default int purgeExpired(String storeId, Instant now) {
    return tupleStore().purgeExpired(storeId, now);
  }

  @Override
  default Optional<TupleStore> readReplica() {
    return tupleStore().readReplica();
  }

  @Override
  default Optional<TupleStore> readReplica(String storeId, long atLeast) {
    return tupleStore().readReplica(storeId, atLeast);
  }

  @Override
  default TupleStore latestReads() {
    return tupleStore().latestReads();
  }

  /** What the read replica did with this store's reads since it opened; empty without a replica. */
  default Optional<ReplicaStats> readReplicaStats() {
    return Optional.empty();
  }

  /**
   * Transactions run again since the store opened because the database aborted them for a
   * serialization failure or a deadlock (SQLSTATE 40001, 40P01); 0 for a store that never does.
   */
  default long retriedTransactions() {
    return 0;
  }

  @Override
  default String writeModel(String storeId, AuthorizationModel model) {
    return modelStore().writeModel(storeId, model);
  }

  @Override
  default Optional<StoredModel> readModel(String storeId, String modelId) {
    return modelStore().readModel(storeId, modelId);
  }

  @Override
  default Optional<StoredModel> latestModel(String storeId) {
    return modelStore().latestModel(storeId);
  }

  @Override
  default Page<StoredModel> listModels(String storeId, PageRequest page) {
    return modelStore().listModels(storeId, page);
  }

  @Override
  default void writeAssertions(String storeId, String modelId, String assertionsJson) {
    modelStore().writeAssertions(storeId, modelId, assertionsJson);
  }

  @Override
  default String readAssertions(String storeId, String modelId) {
    return modelStore().readAssertions(storeId, modelId);
  }

  @Override
  default void saveApiKey(ApiKeyRecord key) {
    credentialStore().saveApiKey(key);
  }

  @Override
  default Optional<ApiKeyRecord> apiKey(String id) {
    return credentialStore().apiKey(id);
  }

  @Override
  default List<ApiKeyRecord> apiKeys() {
    return credentialStore().apiKeys();
  }

  @Override
  default boolean revokeApiKey(String id) {
    return credentialStore().revokeApiKey(id);
  }

  @Override
  default Optional<ApiKeyRecord> rotateApiKey(
      String id,
      String newSecretHash,
      Instant rotatedAt,
      Instant graceEndsAt,
      @org.jspecify.annotations.Nullable Instant expiresAt) {
    return credentialStore().rotateApiKey(id, newSecretHash, rotatedAt, graceEndsAt, expiresAt);
  }

  @Override
  default void recordApiKeyUses(Map<String, Instant> lastUsed) {
    credentialStore().recordApiKeyUses(lastUsed);
  }

  @Override
  default Optional<String> document(String kind, String key) {
    return documentStore().document(kind, key);
  }

  @Override
  default SortedMap<String, String> documents(String kind) {
    return documentStore().documents(kind);
  }

  @Override
  default boolean createDocument(String kind, String key, String json) {
    return documentStore().createDocument(kind, key, json);
  }

  @Override
  default void putDocument(String kind, String key, String json) {
    documentStore().putDocument(kind, key, json);
  }

  @Override
  default boolean deleteDocument(String kind, String key) {
    return documentStore().deleteDocument(kind, key);
  }
}
