package dev.castellan.store;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * One store of a {@link MemoryStore}: its name and times, and the data each part keeps for it,
 * created on first use. Deleting the store from the catalog drops every part's data with it.
 */
final class Tenant {
  private final String id;
  private final String name;
  private final Instant createdAt;
  private volatile Instant updatedAt;
  private final Map<Class<?>, Object> parts = new HashMap<>();

  Tenant(String id, String name, Instant createdAt) {
    this.id = id;
    this.name = name;
    this.createdAt = createdAt;
    this.updatedAt = createdAt;
  }

  String id() {
    return id;
  }

  StoreInfo info() {
    return new StoreInfo(id, name, createdAt, updatedAt);
  }

  /** Records a change to the store's data at {@code time}. */
  void touch(Instant time) {
    updatedAt = time;
  }

  /** The data the part keyed {@code type} keeps for this store, made by {@code create} at first. */
  synchronized <T> T part(Class<T> type, Supplier<T> create) {
    return type.cast(parts.computeIfAbsent(type, k -> create.get()));
  }
}
