package dev.castellan.engine;

import java.util.Arrays;
import java.util.function.BiConsumer;
import org.jspecify.annotations.Nullable;

/**
 * An open-addressing hash map from {@code long} keys to values, without boxing. Keys are packed
 * {@code (objectId << 32 | relationId)} pairs and subject codes. Not thread-safe: writers hold the
 * index's write lock, readers its read lock.
 */
final class LongMap<V> {
  private static final long EMPTY = Long.MIN_VALUE;
  private long[] keys;
  private @Nullable Object[] values;
  private int size;
  private int mask;

  LongMap() {
    this(16);
  }

  LongMap(int expected) {
    int capacity = Integer.highestOneBit(Math.max(4, expected * 2 - 1)) << 1;
    keys = new long[capacity];
    Arrays.fill(keys, EMPTY);
    values = new Object[capacity];
    mask = capacity - 1;
  }

  /** This map and its two arrays; not the values. */
  long estimatedBytes() {
    return 32 + HeapSizes.array(8, keys.length) + HeapSizes.array(4, values.length);
  }

  private static int slot(long key, int mask) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32)) & mask;
  }

  @SuppressWarnings("unchecked")
  @Nullable V get(long key) {
    int i = slot(key, mask);
    while (true) {
      long k = keys[i];
      if (k == key) {
        return (V) values[i];
      }
      if (k == EMPTY) {
        return null;
      }
      i = (i + 1) & mask;
    }
  }

  void put(long key, @Nullable V value) {
    if (value == null) {
      remove(key);
      return;
    }
    int i = slot(key, mask);
    while (true) {
      long k = keys[i];
      if (k == key) {
        values[i] = value;
        return;
      }
      if (k == EMPTY) {
        keys[i] = key;
        values[i] = value;
        if (++size * 4 > keys.length * 3) {
          grow();
        }
        return;
      }
      i = (i + 1) & mask;
    }
  }

  void remove(long key) {
    int i = slot(key, mask);
    while (true) {
      long k = keys[i];
      if (k == EMPTY) {
        return;
      }
      if (k == key) {
        break;
      }
      i = (i + 1) & mask;
    }
    // Backward-shift deletion keeps probe chains intact without tombstones.
    keys[i] = EMPTY;
    values[i] = null;
    size--;
    int j = i;
    while (true) {
      j = (j + 1) & mask;
      long k = keys[j];
      if (k == EMPTY) {
        return;
      }
      int home = slot(k, mask);
      boolean movable = (j > i) ? (home <= i || home > j) : (home <= i && home > j);
      if (movable) {
        keys[i] = k;
        values[i] = values[j];
        keys[j] = EMPTY;
        values[j] = null;
        i = j;
      }
    }
  }

  private void grow() {
    long[] oldKeys = keys;
    @Nullable Object[] oldValues = values;
    keys = new long[oldKeys.length * 2];
    Arrays.fill(keys, EMPTY);
    values = new Object[oldKeys.length * 2];
    mask = keys.length - 1;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != EMPTY) {
        int j = slot(oldKeys[i], mask);
        while (keys[j] != EMPTY) {
          j = (j + 1) & mask;
        }
        keys[j] = oldKeys[i];
        values[j] = oldValues[i];
      }
    }
  }

  int size() {
    return size;
  }

  int capacity() {
    return keys.length;
  }

  @SuppressWarnings("unchecked")
  void forEach(BiConsumer<Long, V> action) {
    for (int i = 0; i < keys.length; i++) {
      if (keys[i] != EMPTY) {
        action.accept(keys[i], (V) values[i]);
      }
    }
  }
}
