package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Tuples held for people the directory does not know yet (ADR 0024): an import names a person by an
 * {@link Identity} (an email, a Slack id), and until a directory user has that identity the row is
 * kept here, per store. When the user appears, {@link #apply} claims the rows naming the identity
 * and writes them as tuples of that user, in one step: the rows a call removes are exactly the rows
 * it writes, so two nodes applying at once never write a row twice, and a failed write removes
 * nothing.
 *
 * <p>A row is keyed by its store, object, relation and identity: holding it again changes nothing
 * (the first source stays). A store holds at most {@link #MAX_PER_STORE} rows. Deleting a store
 * drops its rows. Errors: {@code STORE_ID_NOT_FOUND}, {@code VALIDATION_ERROR}, {@code
 * EXCEEDED_ENTITY_LIMIT}, and {@code STORE_UNAVAILABLE} when the database fails.
 */
public interface PendingStore {

  /** Most rows one store holds. */
  int MAX_PER_STORE = 100_000;

  /** Most rows held in one call. */
  int MAX_BATCH = 1_000;

  /**
   * Holds {@code rows} for {@code storeId}, all or none.
   *
   * @return how many were new (the others were held already)
   * @throws CastellanException {@code EXCEEDED_ENTITY_LIMIT} when the store would hold more than
   *     {@link #MAX_PER_STORE}, {@code VALIDATION_ERROR} for more than {@link #MAX_BATCH} rows
   */
  int hold(String storeId, List<PendingTuple> rows);

  /** The store's held rows, in the order they were first held. */
  Page<HeldTuple> held(String storeId, PageRequest page);

  /** How many rows the store holds. */
  long count(String storeId);

  /** Drops the store's rows from {@code source}; how many there were. */
  int drop(String storeId, String source);

  /**
   * The identities that rows of any store name, each once, sorted by kind, namespace and value:
   * what a sweep resolves against the directory.
   */
  Page<Identity> identities(PageRequest page);

  /** The stores holding rows that name {@code identity}, sorted. */
  List<String> storesHolding(Identity identity);

  /**
   * Claims the rows of {@code storeId} naming {@code identity} and writes them as tuples of {@code
   * user}, in one transaction: each row is removed, and written unless {@code refusal} gives a
   * reason (the store's model no longer admits it: the row is dropped, and the caller says so). A
   * tuple stored already under the key stays as it is. A call finding no rows (another node claimed
   * them) writes nothing.
   *
   * @param refusal why a row's tuple may not be written, or empty; called inside the transaction,
   *     so it must be quick and must not touch the store
   */
  Applied apply(
      String storeId, Identity identity, String user, Function<Tuple, Optional<String>> refusal);

  /** A claimed row that was not written, and why. */
  record Refused(HeldTuple row, String reason) {}

  /**
   * What {@link #apply} did.
   *
   * @param applied the rows removed whose tuples are now stored (written now, or stored already)
   * @param written how many tuples were written now
   * @param refused the rows removed without a tuple
   * @param revision the store's revision after the write (unchanged when nothing was written)
   */
  record Applied(List<HeldTuple> applied, int written, List<Refused> refused, long revision) {
    public Applied {
      applied = List.copyOf(applied);
      refused = List.copyOf(refused);
    }

    public boolean isEmpty() {
      return applied.isEmpty() && refused.isEmpty();
    }
  }

  // ------------------------------------------------------------------ shared rules

  /** Claimed rows sorted for {@link #apply}: the tuples to write, and what becomes of each row. */
  record Split(List<HeldTuple> applied, List<Tuple> writes, List<Refused> refused) {}

  /**
   * Sorts rows claimed for {@code user} into those to write and those {@code refusal} refuses: one
   * rule for every store, so they apply held rows alike.
   */
  static Split split(
      List<HeldTuple> claimed, String user, Function<Tuple, Optional<String>> refusal) {
    List<HeldTuple> applied = new ArrayList<>();
    List<Refused> refused = new ArrayList<>();
    List<Tuple> writes = new ArrayList<>();
    for (HeldTuple row : claimed) {
      Tuple tuple = row.tuple().tuple(user);
      Optional<String> reason = refusal.apply(tuple);
      if (reason.isPresent()) {
        refused.add(new Refused(row, reason.get()));
      } else {
        applied.add(row);
        writes.add(tuple);
      }
    }
    return new Split(applied, writes, refused);
  }

  /** Refuses a batch over {@link #MAX_BATCH}. */
  static void checkBatch(List<PendingTuple> rows) {
    if (rows.size() > MAX_BATCH) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "at most " + MAX_BATCH + " rows are held in one call, were " + rows.size());
    }
  }

  /** The error of a store that would hold more than {@link #MAX_PER_STORE} rows. */
  static CastellanException full(String storeId, long held, long adding) {
    return new CastellanException(
        ErrorCode.EXCEEDED_ENTITY_LIMIT,
        "store "
            + storeId
            + " holds "
            + held
            + " pending rows; "
            + adding
            + " more would pass the limit of "
            + MAX_PER_STORE
            + ". Provision or link the people they name, or drop rows by source"
            + " (DELETE /api/stores/{store_id}/pending?source=...)");
  }
}
