package dev.castellan.store;

import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import java.util.List;

/**
 * One atomic write: deletes, then writes.
 *
 * @param ignoreDuplicates OpenFGA's {@code on_duplicate: ignore}: writing an existing identical
 *     tuple is a no-op instead of an error
 * @param ignoreMissing OpenFGA's {@code on_missing: ignore}: deleting an absent tuple is a no-op
 */
public record TupleWrite(
    List<Tuple> writes, List<TupleKey> deletes, boolean ignoreDuplicates, boolean ignoreMissing) {

  public TupleWrite {
    writes = List.copyOf(writes);
    deletes = List.copyOf(deletes);
  }

  public static TupleWrite of(List<Tuple> writes, List<TupleKey> deletes) {
    return new TupleWrite(writes, deletes, false, false);
  }

  public static TupleWrite writes(Tuple... writes) {
    return new TupleWrite(List.of(writes), List.of(), false, false);
  }

  public static TupleWrite deletes(TupleKey... deletes) {
    return new TupleWrite(List.of(), List.of(deletes), false, false);
  }

  public int size() {
    return writes.size() + deletes.size();
  }
}
