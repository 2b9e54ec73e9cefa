package dev.castellan.store;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The stores (tenants) a database holds: created, listed and deleted here. Every other store
 * interface that names a store throws {@code STORE_ID_NOT_FOUND} for one this catalog does not
 * list. Deleting a store deletes its tuples, changelog, models and assertions with it.
 */
public interface StoreCatalog {

  /** Longest store name accepted. */
  int MAX_STORE_NAME = 1024;

  /**
   * Refuses a store name over {@link #MAX_STORE_NAME}, as every implementation does.
   *
   * @throws dev.castellan.CastellanException {@code VALIDATION_ERROR}
   */
  static void checkName(String name) {
    if (name.length() > MAX_STORE_NAME) {
      throw new dev.castellan.CastellanException(
          dev.castellan.ErrorCode.VALIDATION_ERROR,
          "store name must be at most " + MAX_STORE_NAME + " characters");
    }
  }

  /** Creates a store; its id is a ULID, so ids sort by creation time. */
  StoreInfo createStore(String name);

  Optional<StoreInfo> getStore(String storeId);

  /** Live stores, oldest first. */
  Page<StoreInfo> listStores(PageRequest page);

  /** Every live store, oldest first, read page by page. */
  default List<StoreInfo> allStores() {
    List<StoreInfo> all = new ArrayList<>();
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
}
