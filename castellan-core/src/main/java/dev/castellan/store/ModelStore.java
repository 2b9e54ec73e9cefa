package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.model.AuthorizationModel;
import java.util.Optional;

/**
 * The authorization models of each store (immutable once written) and the assertions kept per
 * model. Methods throw {@code STORE_ID_NOT_FOUND} for a store the {@link StoreCatalog} does not
 * list.
 */
public interface ModelStore {

  /** Stores an immutable model and returns its id, a ULID (so ids sort by creation time). */
  String writeModel(String storeId, AuthorizationModel model);

  Optional<StoredModel> readModel(String storeId, String modelId);

  Optional<StoredModel> latestModel(String storeId);

  /**
   * The latest model, or {@code latest_authorization_model_not_found}: for importers (the HTTP API
   * and the CLI) that check rows against it, so both refuse an empty store the same way.
   */
  default StoredModel requireLatestModel(String storeId) {
    return latestModel(storeId)
        .orElseThrow(
            () ->
                new CastellanException(
                    ErrorCode.LATEST_AUTHORIZATION_MODEL_NOT_FOUND,
                    "store " + storeId + " has no authorization model; write one first"));
  }

  /** Models of a store, newest first (as OpenFGA lists them). */
  Page<StoredModel> listModels(String storeId, PageRequest page);

  /** Replaces the assertions of a model; they are kept as the JSON document the API received. */
  void writeAssertions(String storeId, String modelId, String assertionsJson);

  /** The assertions JSON of a model, or {@code "[]"}. */
  String readAssertions(String storeId, String modelId);
}
