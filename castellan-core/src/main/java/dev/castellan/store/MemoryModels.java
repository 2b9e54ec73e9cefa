package dev.castellan.store;

import static dev.castellan.store.MemoryTokens.decode;
import static dev.castellan.store.MemoryTokens.encode;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.model.AuthorizationModel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The models and assertions of a {@link MemoryStore}, per store; every access holds its monitor.
 */
final class MemoryModels implements ModelStore {

  /** One store's models and assertions. */
  private static final class State {
    final TreeMap<String, StoredModel> models = new TreeMap<>();
    final Map<String, String> assertions = new HashMap<>();
  }

  private final MemoryCatalog catalog;

  MemoryModels(MemoryCatalog catalog) {
    this.catalog = catalog;
  }

  private State state(String storeId) {
    return catalog.tenant(storeId).part(State.class, State::new);
  }

  // ------------------------------------------------------------------ models

  @Override
  public String writeModel(String storeId, AuthorizationModel model) {
    State state = state(storeId);
    synchronized (state) {
      String id = Ulids.next();
      state.models.put(id, new StoredModel(id, model, catalog.clock().instant()));
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

  // ------------------------------------------------------------------ assertions

  @Override
  public void writeAssertions(String storeId, String modelId, String assertionsJson) {
    State state = state(storeId);
    synchronized (state) {
      if (!state.models.containsKey(modelId)) {
        throw new CastellanException(
            ErrorCode.AUTHORIZATION_MODEL_NOT_FOUND,
            "authorization model " + modelId + " not found");
      }
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
}
