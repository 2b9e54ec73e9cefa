package dev.castellan.engine;

import dev.castellan.ErrorCode;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Forward and reverse posting maps over one object table. The store's index holds one; each request
 * with contextual tuples builds a small one over a child object table.
 */
final class Relationships {
  /** Relation part of a reverse key for a plain (non-userset) subject. */
  static final int NO_RELATION = -1;

  final Names names;
  final ObjectTable objects;

  /** {@code (object, relation)} -> subjects. */
  final LongMap<Postings> forward;

  /** subject code -> packed {@code (object, relation)} keys that name it. */
  final LongMap<long[]> reverse;

  private int tupleCount;
  private int usersetTuples;

  /**
   * Bumped by every change to a userset tuple (added, removed, condition or expiry replaced), so
   * that facts derived from the userset graph (see {@link UsersetChains}) know when they are stale.
   * Changes to plain tuples leave it alone: they are most writes, and the graph does not see them.
   */
  private long usersetVersion;

  /**
   * Per relation id: how many tuples carry a condition or an expiry. Walks that meet a tuple by its
   * reverse entry skip looking up its meta where the relation has none, which is nearly always.
   */
  private int[] metaTuples = new int[16];

  Relationships(Names names, ObjectTable objects, int expectedKeys) {
    this.names = names;
    this.objects = objects;
    this.forward = new LongMap<>(expectedKeys);
    this.reverse = new LongMap<>(expectedKeys);
  }

  static long key(int object, int relation) {
    return Postings.userset(object, relation);
  }

  static long subjectCode(int object, int relation) {
    return Postings.userset(object, relation);
  }

  Postings postings(int object, int relation) {
    Postings p = forward.get(key(object, relation));
    return p == null ? Postings.EMPTY : p;
  }

  long[] reverse(int object, int relation) {
    long[] keys = reverse.get(subjectCode(object, relation));
    return keys == null ? Postings.NO_LONGS : keys;
  }

  int tupleCount() {
    return tupleCount;
  }

  long usersetVersion() {
    return usersetVersion;
  }

  boolean hasUsersets() {
    return usersetTuples > 0;
  }

  /** Whether any tuple of {@code relation} (on any object) has a condition or an expiry. */
  boolean hasMeta(int relation) {
    return relation < metaTuples.length && metaTuples[relation] > 0;
  }

  private void countMeta(int relation, @Nullable TupleMeta before, @Nullable TupleMeta after) {
    int change = (after == null ? 0 : 1) - (before == null ? 0 : 1);
    if (change == 0) {
      return;
    }
    if (relation >= metaTuples.length) {
      metaTuples =
          java.util.Arrays.copyOf(metaTuples, Math.max(relation + 1, metaTuples.length * 2));
    }
    metaTuples[relation] += change;
  }

  private static @Nullable TupleMeta plainMeta(Postings p, int user) {
    if (p.plainMeta == null) {
      return null;
    }
    int i = java.util.Arrays.binarySearch(p.plain, user);
    return i >= 0 ? p.plainMeta(i) : null;
  }

  private static @Nullable TupleMeta usersetMeta(Postings p, long userset) {
    if (p.usersetMeta == null) {
      return null;
    }
    int i = java.util.Arrays.binarySearch(p.usersets, userset);
    return i >= 0 ? p.usersetMeta(i) : null;
  }

  /** Adds or replaces one tuple; returns true when it was not present before. */
  boolean add(Tuple tuple) {
    TupleKey k = tuple.key();
    String[] objectParts = Refs.requireObject(k.object(), ErrorCode.INVALID_TUPLE);
    Refs.UserRef user = Refs.requireUser(k.user(), ErrorCode.INVALID_TUPLE);
    int objectType = names.intern(objectParts[0]);
    int object = objects.intern(k.object(), objectType, false);
    int relation = names.intern(k.relation());
    int userType = names.intern(user.type());
    int userObject = objects.intern(user.object(), userType, user.wildcard());
    TupleMeta meta = TupleMeta.of(tuple);

    long key = key(object, relation);
    Postings before = forward.get(key);
    if (before == null) {
      before = Postings.EMPTY;
    }
    Postings after;
    long subject;
    TupleMeta replaced;
    if (user.isUserset()) {
      int userRelation = names.intern(user.relation());
      subject = subjectCode(userObject, userRelation);
      long userset = Postings.userset(userObject, userRelation);
      replaced = usersetMeta(before, userset);
      after = before.withUserset(userset, meta);
    } else {
      subject = subjectCode(userObject, NO_RELATION);
      replaced = plainMeta(before, userObject);
      after = before.withPlain(userObject, meta);
    }
    if (after == before) {
      return false;
    }
    forward.put(key, after);
    countMeta(relation, replaced, meta);
    boolean added = after.size() > before.size();
    if (user.isUserset()) {
      usersetVersion++;
      if (added) {
        usersetTuples++;
      }
    }
    if (added) {
      tupleCount++;
      long[] keys = reverse.get(subject);
      if (keys == null) {
        reverse.put(subject, new long[] {key});
      } else {
        long[] grown = java.util.Arrays.copyOf(keys, keys.length + 1);
        grown[keys.length] = key;
        reverse.put(subject, grown);
      }
    }
    return added;
  }

  /** Removes one tuple; returns true when it was present. Unknown names are simply absent. */
  boolean remove(TupleKey k) {
    int object = objects.find(k.object());
    int relation = names.find(k.relation());
    Refs.UserRef user = Refs.parseUser(k.user());
    if (object < 0 || relation < 0 || user == null) {
      return false;
    }
    int userObject = objects.find(user.object());
    if (userObject < 0) {
      return false;
    }
    long key = key(object, relation);
    Postings before = forward.get(key);
    if (before == null) {
      return false;
    }
    Postings after;
    long subject;
    TupleMeta removed;
    if (user.isUserset()) {
      int userRelation = names.find(user.relation());
      if (userRelation < 0) {
        return false;
      }
      subject = subjectCode(userObject, userRelation);
      long userset = Postings.userset(userObject, userRelation);
      removed = usersetMeta(before, userset);
      after = before.withoutUserset(userset);
    } else {
      subject = subjectCode(userObject, NO_RELATION);
      removed = plainMeta(before, userObject);
      after = before.withoutPlain(userObject);
    }
    if (after == before) {
      return false;
    }
    countMeta(relation, removed, null);
    forward.put(key, after.isEmpty() ? null : after);
    long[] keys = reverse.get(subject);
    if (keys != null) {
      reverse.put(subject, without(keys, key));
    }
    if (user.isUserset()) {
      usersetVersion++;
      usersetTuples--;
    }
    tupleCount--;
    return true;
  }

  private static long @Nullable [] without(long[] keys, long key) {
    for (int i = 0; i < keys.length; i++) {
      if (keys[i] == key) {
        if (keys.length == 1) {
          return null;
        }
        long[] shrunk = new long[keys.length - 1];
        System.arraycopy(keys, 0, shrunk, 0, i);
        System.arraycopy(keys, i + 1, shrunk, i, keys.length - i - 1);
        return shrunk;
      }
    }
    return keys;
  }

  /** Rebuilds the public form of a stored tuple. */
  Tuple tuple(
      int object, int relation, long subjectPacked, boolean userset, @Nullable TupleMeta meta) {
    String user;
    if (userset) {
      user =
          objects.name(Postings.usersetObject(subjectPacked))
              + "#"
              + names.name(Postings.usersetRelation(subjectPacked));
    } else {
      user = objects.name((int) subjectPacked);
    }
    TupleKey key = new TupleKey(objects.name(object), names.name(relation), user);
    return meta == null
        ? new Tuple(key, "", java.util.Map.of())
        : new Tuple(key, meta.condition(), meta.context(), meta.expiresAt());
  }

  /** Every tuple, in no particular order (used by reads and tests; not on hot paths). */
  List<Tuple> all() {
    List<Tuple> out = new ArrayList<>(tupleCount);
    forward.forEach(
        (key, p) -> {
          int object = Postings.usersetObject(key);
          int relation = Postings.usersetRelation(key);
          for (int i = 0; i < p.plain.length; i++) {
            out.add(tuple(object, relation, p.plain[i], false, p.plainMeta(i)));
          }
          for (int i = 0; i < p.usersets.length; i++) {
            out.add(tuple(object, relation, p.usersets[i], true, p.usersetMeta(i)));
          }
        });
    return out;
  }

  /** The heap this holds: the object table, both maps with their values, the meta counts. */
  long estimatedBytes() {
    long[] bytes = {
      48
          + objects.estimatedBytes()
          + forward.estimatedBytes()
          + reverse.estimatedBytes()
          + HeapSizes.array(4, metaTuples.length)
    };
    forward.forEach((k, p) -> bytes[0] += p.estimatedBytes());
    reverse.forEach((k, keys) -> bytes[0] += HeapSizes.array(8, keys.length));
    return bytes[0];
  }
}
