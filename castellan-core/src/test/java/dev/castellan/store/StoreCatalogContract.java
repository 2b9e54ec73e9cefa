package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.ErrorCode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link StoreCatalog} does; the in-memory, H2 and PostgreSQL ones all run it. */
public abstract class StoreCatalogContract extends StoreFixture {
  protected StoreCatalog catalog;
  protected TupleStore tuples;
  protected ModelStore models;

  @BeforeEach
  void parts() {
    catalog = store.storeCatalog();
    tuples = store.tupleStore();
    models = store.modelStore();
  }

  @Test
  void stores_areCreatedListedAndDeleted() {
    StoreInfo second = catalog.createStore("second");
    assertThat(Ulids.isValid(second.id())).isTrue();
    assertThat(catalog.getStore(second.id())).map(StoreInfo::name).contains("second");
    Page<StoreInfo> first = catalog.listStores(PageRequest.first(1));
    assertThat(first.items()).extracting(StoreInfo::id).containsExactly(storeId);
    Page<StoreInfo> rest = catalog.listStores(new PageRequest(10, first.continuationToken()));
    assertThat(rest.items()).extracting(StoreInfo::id).containsExactly(second.id());
    assertThat(rest.hasMore()).isFalse();

    assertThat(catalog.deleteStore(second.id())).isTrue();
    assertThat(catalog.getStore(second.id())).isEmpty();
    assertThat(catalog.deleteStore(second.id())).isFalse();
    assertCode(
        () -> tuples.write(second.id(), TupleWrite.writes(tuple("doc:1", "viewer", "user:a"))),
        ErrorCode.STORE_ID_NOT_FOUND);
    assertCode(() -> tuples.revision("01ARZ3NDEKTSV4RRFFQ69G5FAV"), ErrorCode.STORE_ID_NOT_FOUND);
  }

  @Test
  void stores_areIsolated() {
    String other = catalog.createStore("other").id();
    tuples.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    assertThat(all(other)).isEmpty();
    assertThat(tuples.revision(other)).isZero();
    assertThat(tuples.revision(storeId)).isEqualTo(1);
  }

  @Test
  void deletingAStore_takesItsTuplesAndModelsWithIt_andLeavesOthers() {
    String other = catalog.createStore("other").id();
    tuples.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    tuples.write(other, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    models.writeModel(storeId, MODEL);
    assertThat(catalog.deleteStore(storeId)).isTrue();
    assertCode(() -> models.latestModel(storeId), ErrorCode.STORE_ID_NOT_FOUND);
    assertCode(() -> tuples.snapshot(storeId, t -> {}), ErrorCode.STORE_ID_NOT_FOUND);
    assertCode(() -> tuples.changesAfter(storeId, 0, 10), ErrorCode.STORE_ID_NOT_FOUND);
    assertThat(all(other)).containsExactly(tuple("doc:1", "viewer", "user:a"));
    assertThat(catalog.allStores()).extracting(StoreInfo::id).containsExactly(other);
  }

  @Test
  void aStoreName_isLimitedInLength() {
    assertCode(
        () -> catalog.createStore("n".repeat(StoreCatalog.MAX_STORE_NAME + 1)),
        ErrorCode.VALIDATION_ERROR);
    assertThat(catalog.createStore("n".repeat(StoreCatalog.MAX_STORE_NAME)).name())
        .hasSize(StoreCatalog.MAX_STORE_NAME);
  }

  @Test
  void aWrite_movesTheStoresUpdateTime() {
    StoreInfo before = catalog.getStore(storeId).orElseThrow();
    tuples.write(storeId, TupleWrite.writes(tuple("doc:1", "viewer", "user:a")));
    StoreInfo after = catalog.getStore(storeId).orElseThrow();
    assertThat(after.createdAt()).isEqualTo(before.createdAt());
    assertThat(after.updatedAt()).isAfterOrEqualTo(before.updatedAt());
  }
}
