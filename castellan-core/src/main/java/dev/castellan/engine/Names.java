package dev.castellan.engine;

import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Interns type and relation names to small ints shared by a store's index and the models compiled
 * against it. Names are few (the model's vocabulary), so they are never removed.
 */
final class Names {
  private final ConcurrentHashMap<String, Integer> ids = new ConcurrentHashMap<>();
  private volatile String[] names = new String[16];
  private int size;

  /** The id of {@code name}, or -1 when it was never interned. */
  int find(String name) {
    Integer id = ids.get(name);
    return id == null ? -1 : id;
  }

  int intern(String name) {
    Integer id = ids.get(name);
    return id != null ? id : internSlow(name);
  }

  private synchronized int internSlow(String name) {
    Integer id = ids.get(name);
    if (id != null) {
      return id;
    }
    String[] current = names;
    if (size == current.length) {
      current = Arrays.copyOf(current, size * 2);
    }
    current[size] = name;
    names = current; // publish the array before the id, so name(id) never misses
    ids.put(name, size);
    return size++;
  }

  String name(int id) {
    return names[id];
  }

  int size() {
    return ids.size();
  }

  /** This table, its map (node and name per entry; ids are small, so boxed for free) and array. */
  synchronized long estimatedBytes() {
    long bytes = 24 + 64 + HeapSizes.hashTable(size) + HeapSizes.array(4, names.length);
    for (int i = 0; i < size; i++) {
      bytes += HeapSizes.MAP_NODE + HeapSizes.boxedId(i) + HeapSizes.string(names[i]);
    }
    return bytes;
  }
}
