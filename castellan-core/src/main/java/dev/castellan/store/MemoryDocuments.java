package dev.castellan.store;

import java.util.Optional;

/** The documents of a {@link MemoryStore}. */
final class MemoryDocuments implements DocumentStore {

  private final java.util.concurrent.ConcurrentSkipListMap<String, String> documents =
      new java.util.concurrent.ConcurrentSkipListMap<>();

  private static String documentKey(String kind, String key) {
    return kind + '\u0000' + key;
  }

  @Override
  public Optional<String> document(String kind, String key) {
    return Optional.ofNullable(documents.get(documentKey(kind, key)));
  }

  @Override
  public java.util.SortedMap<String, String> documents(String kind) {
    java.util.SortedMap<String, String> out = new java.util.TreeMap<>();
    documents
        .subMap(kind + '\u0000', kind + '\u0001')
        .forEach((k, v) -> out.put(k.substring(kind.length() + 1), v));
    return out;
  }

  @Override
  public boolean createDocument(String kind, String key, String json) {
    DocumentStore.checkSize(kind, key);
    return documents.putIfAbsent(documentKey(kind, key), json) == null;
  }

  @Override
  public void putDocument(String kind, String key, String json) {
    DocumentStore.checkSize(kind, key);
    documents.put(documentKey(kind, key), json);
  }

  @Override
  public boolean deleteDocument(String kind, String key) {
    return documents.remove(documentKey(kind, key)) != null;
  }
}
