package dev.castellan.store;

import static dev.castellan.store.MemoryTokens.decode;
import static dev.castellan.store.MemoryTokens.encode;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.NavigableMap;
import java.util.Optional;

/**
 * The stores of a {@link MemoryStore}. Each {@link Tenant} carries the data every other part keeps
 * for it, so deleting a store drops all of it at once.
 */
final class MemoryCatalog implements StoreCatalog {
  private final Clock clock;
  private final java.util.concurrent.ConcurrentSkipListMap<String, Tenant> stores =
      new java.util.concurrent.ConcurrentSkipListMap<>();

  MemoryCatalog(Clock clock) {
    this.clock = clock;
  }

  Clock clock() {
    return clock;
  }

  /** The live store {@code storeId}; {@code STORE_ID_NOT_FOUND} when there is none. */
  Tenant tenant(String storeId) {
    Tenant tenant = storeId == null ? null : stores.get(storeId);
    if (tenant == null) {
      throw new CastellanException(ErrorCode.STORE_ID_NOT_FOUND, "store " + storeId + " not found");
    }
    return tenant;
  }

  /** The live stores. */
  java.util.Collection<Tenant> tenants() {
    return stores.values();
  }

  @Override
  public StoreInfo createStore(String name) {
    StoreCatalog.checkName(name);
    Tenant tenant = new Tenant(Ulids.next(), name, clock.instant());
    stores.put(tenant.id(), tenant);
    return tenant.info();
  }

  @Override
  public Optional<StoreInfo> getStore(String storeId) {
    Tenant tenant = storeId == null ? null : stores.get(storeId);
    return tenant == null ? Optional.empty() : Optional.of(tenant.info());
  }

  @Override
  public Page<StoreInfo> listStores(PageRequest page) {
    NavigableMap<String, Tenant> rest =
        page.continuationToken().isEmpty()
            ? stores
            : stores.tailMap(decode(page.continuationToken()), false);
    List<StoreInfo> items = new ArrayList<>();
    for (Tenant tenant : rest.values()) {
      if (items.size() == page.pageSize()) {
        return new Page<>(items, encode(items.get(items.size() - 1).id()));
      }
      items.add(tenant.info());
    }
    return new Page<>(items, "");
  }

  @Override
  public boolean deleteStore(String storeId) {
    return stores.remove(storeId) != null;
  }
}
