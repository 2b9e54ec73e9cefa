package dev.castellan.engine;

/**
 * Shallow sizes of heap objects on a 64-bit HotSpot JVM with compressed references (any heap below
 * 32 GB, the default): a 12-byte header, 4-byte references, 8-byte alignment. The estimates of an
 * index and of a compiled model add these up from their own structure; {@code StoreFootprint} in
 * castellan-bench holds them against the live heap.
 */
final class HeapSizes {
  /** A {@code HashMap} or {@code ConcurrentHashMap} entry. */
  static final long MAP_NODE = 32;

  /** A boxed {@code Integer} outside the JVM's cache of -128..127. */
  static final long BOXED_INT = 16;

  private HeapSizes() {}

  static long align(long bytes) {
    return (bytes + 7) & ~7L;
  }

  /** An array of {@code length} elements of {@code elementBytes} each (4 for a reference). */
  static long array(int elementBytes, int length) {
    return align(16 + (long) elementBytes * length);
  }

  /** A string with its own byte array: one byte per character when all are Latin-1, else two. */
  static long string(String s) {
    int coder = 1;
    for (int i = 0; i < s.length(); i++) {
      if (s.charAt(i) > 0xFF) {
        coder = 2;
        break;
      }
    }
    return 24 + array(coder, s.length());
  }

  /** The table of a hash map holding {@code size} entries at the default load factor. */
  static long hashTable(int size) {
    if (size == 0) {
      return 0;
    }
    int capacity = 16;
    while (size > capacity * 3L / 4) {
      capacity <<= 1;
    }
    return array(4, capacity);
  }

  /** A boxed {@code Integer} id as a map holds it: free inside the JVM's cache. */
  static long boxedId(int id) {
    return id >= -128 && id <= 127 ? 0 : BOXED_INT;
  }
}
