package dev.castellan.engine;

import java.util.Arrays;
import org.jspecify.annotations.Nullable;

/**
 * The subjects of one {@code (object, relation)} key: plain objects (and wildcards) as a sorted int
 * array, usersets as a sorted array of packed {@code (object << 32 | relation)}. Conditional tuples
 * keep their {@link TupleMeta} in a parallel array that exists only when needed. Instances are
 * immutable: writers replace them, so a reader never sees a half-updated array.
 */
final class Postings {
  static final int[] NO_INTS = new int[0];
  static final long[] NO_LONGS = new long[0];
  static final Postings EMPTY = new Postings(NO_INTS, null, NO_LONGS, null);

  final int[] plain;
  final @Nullable TupleMeta @Nullable [] plainMeta; // null when no plain tuple is conditional
  final long[] usersets;
  final @Nullable TupleMeta @Nullable [] usersetMeta; // null when no userset tuple is conditional

  /**
   * What {@link UsersetChains} learnt about the userset graph below this key, or null. The one
   * mutable field: a cache that concurrent readers may each fill, always with the same value for
   * the same index revision, so the race is benign. Plain-tuple changes carry it over (they do not
   * change the userset graph); userset changes drop it.
   */
  volatile UsersetChains.@Nullable Summary chains;

  private Postings(
      int[] plain,
      @Nullable TupleMeta @Nullable [] plainMeta,
      long[] usersets,
      @Nullable TupleMeta @Nullable [] usersetMeta) {
    this.plain = plain;
    this.plainMeta = plainMeta;
    this.usersets = usersets;
    this.usersetMeta = usersetMeta;
  }

  boolean isEmpty() {
    return plain.length == 0 && usersets.length == 0;
  }

  int size() {
    return plain.length + usersets.length;
  }

  static long userset(int object, int relation) {
    return ((long) object << 32) | (relation & 0xFFFFFFFFL);
  }

  static int usersetObject(long packed) {
    return (int) (packed >>> 32);
  }

  static int usersetRelation(long packed) {
    return (int) packed;
  }

  /** Meta of plain subject at {@code index}, or null when unconditional. */
  @Nullable TupleMeta plainMeta(int index) {
    return plainMeta == null ? null : plainMeta[index];
  }

  @Nullable TupleMeta usersetMeta(int index) {
    return usersetMeta == null ? null : usersetMeta[index];
  }

  /** Returns postings with {@code object} added (or its meta replaced), or this if unchanged. */
  Postings withPlain(int object, @Nullable TupleMeta meta) {
    int i = Arrays.binarySearch(plain, object);
    if (i >= 0) {
      if (plainMeta(i) == meta) {
        return this;
      }
      @Nullable TupleMeta[] metas =
          plainMeta == null ? new TupleMeta[plain.length] : plainMeta.clone();
      metas[i] = meta;
      return keepingChains(new Postings(plain, compact(metas), usersets, usersetMeta));
    }
    int at = -i - 1;
    int[] grown = insert(plain, at, object);
    @Nullable TupleMeta @Nullable [] metas = insertMeta(plainMeta, plain.length, at, meta);
    return keepingChains(new Postings(grown, metas, usersets, usersetMeta));
  }

  Postings withoutPlain(int object) {
    int i = Arrays.binarySearch(plain, object);
    if (i < 0) {
      return this;
    }
    return keepingChains(
        new Postings(remove(plain, i), compact(removeMeta(plainMeta, i)), usersets, usersetMeta));
  }

  private Postings keepingChains(Postings next) {
    next.chains = chains;
    return next;
  }

  Postings withUserset(long packed, @Nullable TupleMeta meta) {
    int i = Arrays.binarySearch(usersets, packed);
    if (i >= 0) {
      if (usersetMeta(i) == meta) {
        return this;
      }
      @Nullable TupleMeta[] metas =
          usersetMeta == null ? new TupleMeta[usersets.length] : usersetMeta.clone();
      metas[i] = meta;
      return new Postings(plain, plainMeta, usersets, compact(metas));
    }
    int at = -i - 1;
    long[] grown = new long[usersets.length + 1];
    System.arraycopy(usersets, 0, grown, 0, at);
    grown[at] = packed;
    System.arraycopy(usersets, at, grown, at + 1, usersets.length - at);
    @Nullable TupleMeta @Nullable [] metas = insertMeta(usersetMeta, usersets.length, at, meta);
    return new Postings(plain, plainMeta, grown, metas);
  }

  Postings withoutUserset(long packed) {
    int i = Arrays.binarySearch(usersets, packed);
    if (i < 0) {
      return this;
    }
    long[] shrunk = new long[usersets.length - 1];
    System.arraycopy(usersets, 0, shrunk, 0, i);
    System.arraycopy(usersets, i + 1, shrunk, i, usersets.length - i - 1);
    return new Postings(plain, plainMeta, shrunk, compact(removeMeta(usersetMeta, i)));
  }

  /** This object, its own arrays (the empty ones are shared) and the meta of conditional tuples. */
  long estimatedBytes() {
    long bytes = 32;
    if (plain.length > 0) {
      bytes += HeapSizes.array(4, plain.length);
    }
    if (usersets.length > 0) {
      bytes += HeapSizes.array(8, usersets.length);
    }
    return bytes + metaBytes(plainMeta) + metaBytes(usersetMeta);
  }

  private static long metaBytes(@Nullable TupleMeta @Nullable [] metas) {
    if (metas == null) {
      return 0;
    }
    long bytes = HeapSizes.array(4, metas.length);
    for (TupleMeta meta : metas) {
      if (meta != null) {
        bytes += meta.estimatedBytes();
      }
    }
    return bytes;
  }

  private static int[] insert(int[] array, int at, int value) {
    int[] grown = new int[array.length + 1];
    System.arraycopy(array, 0, grown, 0, at);
    grown[at] = value;
    System.arraycopy(array, at, grown, at + 1, array.length - at);
    return grown;
  }

  private static int[] remove(int[] array, int at) {
    int[] shrunk = new int[array.length - 1];
    System.arraycopy(array, 0, shrunk, 0, at);
    System.arraycopy(array, at + 1, shrunk, at, array.length - at - 1);
    return shrunk;
  }

  private static @Nullable TupleMeta @Nullable [] insertMeta(
      @Nullable TupleMeta @Nullable [] metas, int length, int at, @Nullable TupleMeta meta) {
    if (metas == null && meta == null) {
      return null;
    }
    @Nullable TupleMeta[] grown = new TupleMeta[length + 1];
    if (metas != null) {
      System.arraycopy(metas, 0, grown, 0, at);
      System.arraycopy(metas, at, grown, at + 1, length - at);
    }
    grown[at] = meta;
    return grown;
  }

  private static @Nullable TupleMeta @Nullable [] removeMeta(
      @Nullable TupleMeta @Nullable [] metas, int at) {
    if (metas == null) {
      return null;
    }
    @Nullable TupleMeta[] shrunk = new TupleMeta[metas.length - 1];
    System.arraycopy(metas, 0, shrunk, 0, at);
    System.arraycopy(metas, at + 1, shrunk, at, metas.length - at - 1);
    return shrunk;
  }

  /** Drops the meta array once no entry is conditional, keeping the common case lean. */
  private static @Nullable TupleMeta @Nullable [] compact(@Nullable TupleMeta @Nullable [] metas) {
    if (metas == null) {
      return null;
    }
    for (TupleMeta meta : metas) {
      if (meta != null) {
        return metas;
      }
    }
    return null;
  }
}
