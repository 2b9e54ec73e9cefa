package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;

/**
 * The rules every {@link TupleStore} applies to a write, written once: the size limits of a tuple's
 * parts, no tuple twice in one request, a delete of a missing tuple or a write of an existing one
 * refused unless the request says to ignore it, which filters a delete-by-filter needs, when a
 * tuple counts as expired, and how a revision's changes are ordered in the changelog.
 *
 * <p>An implementation {@link #check checks} the request before it opens a transaction, looks up
 * which of its {@link Checked#keys() keys} are stored, {@link #plan plans} the write against them
 * under its store's revision lock, and applies the {@link Plan} as it stands.
 */
public final class WritePlanner {
  /** Longest object type, in characters. */
  public static final int MAX_OBJECT_TYPE = 254;

  /** Longest object id. */
  public static final int MAX_OBJECT_ID = 512;

  /** Longest relation name. */
  public static final int MAX_RELATION = 254;

  /** Longest user ({@code type:id}, {@code type:*} or {@code type:id#relation}). */
  public static final int MAX_USER = 1024;

  /** Longest condition name. */
  public static final int MAX_CONDITION = 254;

  private WritePlanner() {}

  /** A request that passed {@link #check}: the keys it names, deletes first, each once. */
  public record Checked(TupleWrite write, Set<TupleKey> keys) {
    public Checked {
      keys = Collections.unmodifiableSet(new LinkedHashSet<>(keys));
    }
  }

  /**
   * What a write does to the stored tuples: the stored tuples it deletes, then the tuples it adds,
   * each in request order. Empty when everything was ignored; then the write takes no revision.
   */
  public record Plan(List<Tuple> deletes, List<Tuple> writes) {
    public Plan {
      deletes = List.copyOf(deletes);
      writes = List.copyOf(writes);
    }

    public boolean isEmpty() {
      return deletes.isEmpty() && writes.isEmpty();
    }

    /** The changelog rows of this plan under {@code revision}: deletes first, then writes. */
    public List<Change> changes(long revision, Instant time) {
      return WritePlanner.changes(revision, deletes, writes, time);
    }
  }

  /**
   * Checks what can be checked without the store: every key and condition within the limits, and no
   * tuple twice in the request (deletes and writes together).
   *
   * @throws CastellanException {@code VALIDATION_ERROR} for a part over its limit or an object that
   *     is not {@code type:id}; {@code CANNOT_ALLOW_DUPLICATE_TUPLES_IN_ONE_REQUEST} for a repeat
   */
  public static Checked check(TupleWrite write) {
    Set<TupleKey> keys = new LinkedHashSet<>();
    for (TupleKey key : write.deletes()) {
      checkKey(key);
      if (!keys.add(key)) {
        throw duplicateInRequest(key);
      }
    }
    for (Tuple tuple : write.writes()) {
      checkTuple(tuple);
      if (!keys.add(tuple.key())) {
        throw duplicateInRequest(tuple.key());
      }
    }
    return new Checked(write, keys);
  }

  /**
   * Plans {@code checked} against the tuples stored under its keys.
   *
   * @param stored the stored tuple of each key that has one (keys without one are absent)
   * @param asStored {@code tuple} as the store would keep and return it (a database rounds the
   *     expiry and normalizes the context), so an identical rewrite compares equal
   * @throws CastellanException {@code WRITE_FAILED_DUE_TO_INVALID_INPUT} for a delete of a missing
   *     tuple without {@code ignoreMissing}, or a write of an existing one without {@code
   *     ignoreDuplicates} or differing from it (condition, context, expiry)
   */
  public static Plan plan(
      Checked checked, Map<TupleKey, Tuple> stored, UnaryOperator<Tuple> asStored) {
    TupleWrite write = checked.write();
    List<Tuple> deletes = new ArrayList<>();
    for (TupleKey key : write.deletes()) {
      Tuple old = stored.get(key);
      if (old != null) {
        deletes.add(old);
      } else if (!write.ignoreMissing()) {
        throw new CastellanException(
            ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT,
            "cannot delete a tuple which does not exist: " + key);
      }
    }
    List<Tuple> writes = new ArrayList<>();
    for (Tuple tuple : write.writes()) {
      Tuple fresh = asStored.apply(tuple);
      Tuple old = stored.get(tuple.key());
      if (old == null) {
        writes.add(fresh);
      } else if (!write.ignoreDuplicates() || !old.equals(fresh)) {
        throw new CastellanException(
            ErrorCode.WRITE_FAILED_DUE_TO_INVALID_INPUT,
            "cannot write a tuple which already exists: " + tuple.key());
      }
    }
    return new Plan(deletes, writes);
  }

  /**
   * Plans writing only the tuples of {@code checked} whose keys hold none yet: a stored tuple stays
   * as it is, whatever its condition. How held rows are applied once their person is known (ADR
   * 0024): a share that exists already is not an error, and is not rewritten.
   */
  public static Plan planNew(
      Checked checked, Map<TupleKey, Tuple> stored, UnaryOperator<Tuple> asStored) {
    List<Tuple> writes = new ArrayList<>();
    for (Tuple tuple : checked.write().writes()) {
      if (!stored.containsKey(tuple.key())) {
        writes.add(asStored.apply(tuple));
      }
    }
    return new Plan(List.of(), writes);
  }

  /** Checks a tuple's parts against the limits (an import's tuples, one at a time). */
  public static void checkTuple(Tuple tuple) {
    checkKey(tuple.key());
    if (tuple.condition().length() > MAX_CONDITION) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "condition name must be at most " + MAX_CONDITION + " characters in " + tuple.key());
    }
  }

  /**
   * Checks a key: the object is {@code type:id}, relation and user are not empty, and each part is
   * within its limit.
   */
  public static void checkKey(TupleKey key) {
    int colon = key.object().indexOf(':');
    if (colon <= 0 || colon == key.object().length() - 1) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "invalid object '" + key.object() + "' in " + key + ": expected type:id");
    }
    checkLength(colon, MAX_OBJECT_TYPE, "object type", key);
    checkLength(key.object().length() - colon - 1, MAX_OBJECT_ID, "object id", key);
    checkLength(key.relation().length(), MAX_RELATION, "relation", key);
    checkLength(key.user().length(), MAX_USER, "user", key);
    if (key.relation().isEmpty() || key.user().isEmpty()) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR, "relation and user must not be empty in " + key);
    }
  }

  private static void checkLength(int length, int max, String what, TupleKey key) {
    if (length > max) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR, what + " must be at most " + max + " characters in " + key);
    }
  }

  /** A delete filter must name an object, an object type with a relation, or a user. */
  public static void requireDeleteFilter(TupleFilter filter) {
    boolean object = !filter.objectId().isEmpty();
    boolean typeAndRelation = !filter.objectType().isEmpty() && !filter.relation().isEmpty();
    if (!object && !typeAndRelation && filter.user().isEmpty()) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "delete by filter needs an object, an object type and relation, or a user");
    }
  }

  /**
   * Whether {@code tuple} has expired at {@code now}: its expiry is at or before it. A database
   * applies the same rule in SQL ({@code expires_at <= now}).
   */
  public static boolean isExpired(Tuple tuple, Instant now) {
    return tuple.isExpiredAt(now);
  }

  /**
   * The changelog rows of one revision: {@code deletes} then {@code writes}, numbered from 0 in
   * that order.
   */
  public static List<Change> changes(
      long revision, List<Tuple> deletes, List<Tuple> writes, Instant time) {
    List<Change> changes = new ArrayList<>(deletes.size() + writes.size());
    for (Tuple tuple : deletes) {
      changes.add(new Change(revision, changes.size(), Change.Operation.DELETE, tuple, time));
    }
    for (Tuple tuple : writes) {
      changes.add(new Change(revision, changes.size(), Change.Operation.WRITE, tuple, time));
    }
    return changes;
  }

  private static CastellanException duplicateInRequest(TupleKey key) {
    return new CastellanException(
        ErrorCode.CANNOT_ALLOW_DUPLICATE_TUPLES_IN_ONE_REQUEST,
        "duplicate tuple in write request: " + key);
  }
}
