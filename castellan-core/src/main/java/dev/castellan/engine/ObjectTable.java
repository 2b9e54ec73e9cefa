package dev.castellan.engine;

import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * Interns object names ({@code type:id}, including wildcards {@code type:*}) to ints and remembers
 * each object's type. Not thread-safe: the index mutates it under its write lock. A table may have
 * a parent, in which case its own ids start at {@link #LOCAL_BASE} (used for contextual tuples,
 * whose objects are not in the store).
 */
final class ObjectTable {
  static final int LOCAL_BASE = 1 << 30;

  private final @Nullable ObjectTable parent;
  private final int base;
  // Open addressing over the names array: a slot holds a local id + 1, 0 when free. A HashMap
  // held a node and a boxed id per object, about 50 bytes of a small store's ~200 per tuple.
  private int[] slots;
  private String[] names;
  private int[] types;
  private int[] wildcardByType;
  private int size;

  ObjectTable() {
    this(null, 0, 64);
  }

  private ObjectTable(@Nullable ObjectTable parent, int base, int capacity) {
    this.parent = parent;
    this.base = base;
    this.names = new String[capacity];
    this.slots = new int[Integer.highestOneBit(Math.max(2, capacity - 1)) << 1];
    this.types = new int[capacity];
    this.wildcardByType = new int[capacity < 16 ? 0 : 16];
    Arrays.fill(wildcardByType, -1);
  }

  /** A table over this one for a request's contextual tuples: small, as they are few. */
  ObjectTable child() {
    return new ObjectTable(this, LOCAL_BASE, 4);
  }

  /** The id of the object named {@code name}, or -1. */
  int find(String name) {
    if (parent != null) {
      int id = parent.find(name);
      if (id >= 0) {
        return id;
      }
    }
    int mask = slots.length - 1;
    for (int i = slot(name, mask); ; i = (i + 1) & mask) {
      int local = slots[i] - 1;
      if (local < 0) {
        return -1;
      }
      if (names[local].equals(name)) {
        return base + local;
      }
    }
  }

  private static int slot(String name, int mask) {
    int h = name.hashCode();
    return (h ^ (h >>> 16)) & mask;
  }

  /** Places local id {@code local} in {@code table}, whose length is a power of two. */
  private void place(int[] table, int local) {
    int mask = table.length - 1;
    int i = slot(names[local], mask);
    while (table[i] != 0) {
      i = (i + 1) & mask;
    }
    table[i] = local + 1;
  }

  int intern(String name, int type, boolean wildcard) {
    int existing = find(name);
    if (existing >= 0) {
      return existing;
    }
    if (size == names.length) {
      names = Arrays.copyOf(names, size * 2);
      types = Arrays.copyOf(types, size * 2);
    }
    int id = base + size;
    names[size] = name;
    types[size] = type;
    size++;
    if (size * 2 > slots.length) {
      // At most half full, so that a miss ends after a probe or two.
      int[] grown = new int[slots.length * 2];
      for (int local = 0; local < size - 1; local++) {
        place(grown, local);
      }
      slots = grown;
    }
    place(slots, size - 1);
    if (wildcard) {
      if (type >= wildcardByType.length) {
        int old = wildcardByType.length;
        wildcardByType = Arrays.copyOf(wildcardByType, Math.max(type + 1, old * 2));
        Arrays.fill(wildcardByType, old, wildcardByType.length, -1);
      }
      wildcardByType[type] = id;
    }
    return id;
  }

  String name(int id) {
    if (id >= base) {
      return names[id - base];
    }
    return requireParent().name(id);
  }

  int type(int id) {
    if (id >= base) {
      return types[id - base];
    }
    return requireParent().type(id);
  }

  /** Ids below {@code base} belong to the parent; a root's base is 0, so it has none. */
  private ObjectTable requireParent() {
    ObjectTable p = parent;
    if (p == null) {
      throw new IllegalStateException("no object has a negative id");
    }
    return p;
  }

  /** The id of {@code type:*}, or -1 when no tuple mentions it. */
  int wildcard(int type) {
    if (type < wildcardByType.length && wildcardByType[type] >= 0) {
      return wildcardByType[type];
    }
    return parent == null ? -1 : parent.wildcard(type);
  }

  boolean isWildcard(int id) {
    return wildcard(type(id)) == id;
  }

  int size() {
    return size;
  }

  /** Every non-wildcard object of {@code type}; a linear scan, for rare fallbacks only. */
  void forEachOfType(int type, java.util.function.IntConsumer action) {
    if (parent != null) {
      parent.forEachOfType(type, action);
    }
    for (int i = 0; i < size; i++) {
      if (types[i] == type && wildcard(type) != base + i) {
        action.accept(base + i);
      }
    }
  }

  /** The heap this table holds: itself, its names and its arrays. */
  long estimatedBytes() {
    long bytes = 40 + HeapSizes.array(4, slots.length);
    for (int i = 0; i < size; i++) {
      bytes += HeapSizes.string(names[i]);
    }
    return bytes
        + HeapSizes.array(4, names.length)
        + HeapSizes.array(4, types.length)
        + HeapSizes.array(4, wildcardByType.length);
  }
}
