package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.ErrorCode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link ModelStore} does; the in-memory, H2 and PostgreSQL ones all run it. */
public abstract class ModelStoreContract extends StoreFixture {
  protected ModelStore models;

  @BeforeEach
  void parts() {
    models = store.modelStore();
  }

  @Test
  void models_roundTripAndTheLatestIsTheNewest() throws InterruptedException {
    assertThat(models.latestModel(storeId)).isEmpty();
    String first = models.writeModel(storeId, MODEL);
    String second = models.writeModel(storeId, MODEL);
    assertThat(second).isGreaterThan(first);
    assertThat(models.readModel(storeId, first)).map(StoredModel::model).contains(MODEL);
    assertThat(models.latestModel(storeId)).map(StoredModel::id).contains(second);
    Page<StoredModel> page = models.listModels(storeId, PageRequest.first(1));
    assertThat(page.items()).extracting(StoredModel::id).containsExactly(second);
    assertThat(models.listModels(storeId, new PageRequest(5, page.continuationToken())).items())
        .extracting(StoredModel::id)
        .containsExactly(first);
    assertThat(models.readModel(storeId, "01ARZ3NDEKTSV4RRFFQ69G5FAV")).isEmpty();
  }

  @Test
  void assertions_roundTripPerModel() {
    String model = models.writeModel(storeId, MODEL);
    assertThat(models.readAssertions(storeId, model)).isEqualTo("[]");
    String json =
        "[{\"tuple_key\":{\"object\":\"doc:1\",\"relation\":\"viewer\",\"user\":\"user:a\"},\"expectation\":true}]";
    models.writeAssertions(storeId, model, json);
    assertThat(models.readAssertions(storeId, model)).isEqualTo(json);
    models.writeAssertions(storeId, model, "[]");
    assertThat(models.readAssertions(storeId, model)).isEqualTo("[]");
  }

  @Test
  void assertions_needAnExistingModel() {
    assertCode(
        () -> models.writeAssertions(storeId, "01ARZ3NDEKTSV4RRFFQ69G5FAV", "[]"),
        ErrorCode.AUTHORIZATION_MODEL_NOT_FOUND);
  }

  @Test
  void modelsOfAMissingStore_areNotFound() {
    String missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
    assertCode(() -> models.writeModel(missing, MODEL), ErrorCode.STORE_ID_NOT_FOUND);
    assertCode(() -> models.latestModel(missing), ErrorCode.STORE_ID_NOT_FOUND);
    assertCode(() -> models.readAssertions(missing, "m"), ErrorCode.STORE_ID_NOT_FOUND);
  }
}
