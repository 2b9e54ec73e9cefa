package dev.castellan.engine;

import java.util.Arrays;

/** A minimal open-addressing set of longs for per-request bookkeeping. */
final class LongSet {
  private static final long EMPTY = Long.MIN_VALUE;
  private long[] slots;
  private int size;

  LongSet() {
    this(64);
  }

  /** A set starting with {@code capacity} slots (rounded up to a power of two), half usable. */
  LongSet(int capacity) {
    slots = new long[Integer.highestOneBit(Math.max(4, capacity - 1)) << 1];
    Arrays.fill(slots, EMPTY);
  }

  boolean contains(long value) {
    int mask = slots.length - 1;
    int i = hash(value) & mask;
    while (true) {
      long s = slots[i];
      if (s == value) {
        return true;
      }
      if (s == EMPTY) {
        return false;
      }
      i = (i + 1) & mask;
    }
  }

  /** Adds {@code value}; returns false when it was already present. */
  boolean add(long value) {
    int mask = slots.length - 1;
    int i = hash(value) & mask;
    while (true) {
      long s = slots[i];
      if (s == value) {
        return false;
      }
      if (s == EMPTY) {
        slots[i] = value;
        if (++size * 2 > slots.length) {
          grow();
        }
        return true;
      }
      i = (i + 1) & mask;
    }
  }

  int size() {
    return size;
  }

  private void grow() {
    long[] old = slots;
    slots = new long[old.length * 2];
    Arrays.fill(slots, EMPTY);
    int mask = slots.length - 1;
    for (long v : old) {
      if (v != EMPTY) {
        int i = hash(v) & mask;
        while (slots[i] != EMPTY) {
          i = (i + 1) & mask;
        }
        slots[i] = v;
      }
    }
  }

  private static int hash(long value) {
    long h = value * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32));
  }
}
