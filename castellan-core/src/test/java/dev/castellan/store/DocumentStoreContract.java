package dev.castellan.store;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.ErrorCode;
import java.util.Map;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** What every {@link DocumentStore} does; the in-memory, H2 and PostgreSQL ones all run it. */
public abstract class DocumentStoreContract extends StoreFixture {
  protected DocumentStore documents;

  @BeforeEach
  void parts() {
    documents = store.documentStore();
  }

  @Test
  void documents_areCreatedOnceReplacedListedByKindAndDeleted() {
    assertThat(documents.createDocument("role", "admin", "{\"name\":\"Admin\"}")).isTrue();
    assertThat(documents.createDocument("role", "admin", "{\"name\":\"Other\"}")).isFalse();
    assertThat(documents.document("role", "admin")).contains("{\"name\":\"Admin\"}");
    documents.putDocument("role", "viewer", "{\"name\":\"Viewer\"}");
    documents.putDocument("role", "admin", "{\"name\":\"Root\"}");
    documents.putDocument("other", "x", "{}");
    assertThat(documents.documents("role"))
        .containsExactly(
            Map.entry("admin", "{\"name\":\"Root\"}"),
            Map.entry("viewer", "{\"name\":\"Viewer\"}"));
    assertThat(documents.deleteDocument("role", "admin")).isTrue();
    assertThat(documents.deleteDocument("role", "admin")).isFalse();
    assertThat(documents.document("role", "admin")).isEmpty();
    assertThat(documents.documents("role")).containsOnlyKeys("viewer");
    assertThat(documents.documents("none")).isEmpty();
  }

  @Test
  void kindsAndKeys_areLimitedInLength() {
    String kind = "k".repeat(DocumentStore.MAX_KIND);
    String key = "d".repeat(DocumentStore.MAX_KEY);
    assertThat(documents.createDocument(kind, key, "{}")).isTrue();
    assertCode(() -> documents.putDocument(kind + "k", "x", "{}"), ErrorCode.VALIDATION_ERROR);
    assertCode(() -> documents.createDocument("role", key + "d", "{}"), ErrorCode.VALIDATION_ERROR);
    assertThat(documents.documents(kind)).containsOnlyKeys(key);
  }
}
