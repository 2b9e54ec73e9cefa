package dev.castellan.store;

import java.util.Optional;
import java.util.SortedMap;

/**
 * Small JSON documents kept beside the tuples (a role's name and description, for instance), by
 * kind and key, one set per database. Documents describe; decisions never read them.
 */
public interface DocumentStore {

  /** Longest document kind accepted. */
  int MAX_KIND = 64;

  /** Longest document key accepted. */
  int MAX_KEY = 256;

  /**
   * Refuses a kind or key over its limit, as every implementation does before it saves.
   *
   * @throws dev.castellan.CastellanException {@code VALIDATION_ERROR}
   */
  static void checkSize(String kind, String key) {
    if (kind.length() > MAX_KIND || key.length() > MAX_KEY) {
      throw new dev.castellan.CastellanException(
          dev.castellan.ErrorCode.VALIDATION_ERROR,
          "a document kind is at most " + MAX_KIND + " characters, a key " + MAX_KEY);
    }
  }

  /** The document {@code kind/key}, or empty. */
  Optional<String> document(String kind, String key);

  /** Every document of {@code kind}, ordered by key. */
  SortedMap<String, String> documents(String kind);

  /** Saves a new document; false, and nothing changed, when {@code kind/key} exists. */
  boolean createDocument(String kind, String key, String json);

  /** Saves a document, replacing any with the same kind and key. */
  void putDocument(String kind, String key, String json);

  /** Deletes a document; false when there was none. */
  boolean deleteDocument(String kind, String key);
}
