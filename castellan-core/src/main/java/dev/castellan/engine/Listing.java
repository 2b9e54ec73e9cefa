package dev.castellan.engine;

import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A list-objects or list-users walk that runs in slices, each under its own {@link Budget}: a slice
 * that runs out of time, steps or result bytes keeps the walk's state, and the next slice goes on
 * from there. Each result is returned once, by the slice that found it.
 *
 * <p>Each slice holds the index's read lock while it runs, and only then: between slices the index
 * may move on, and a later slice sees the newer tuples (as every page of a paged listing does). Not
 * thread-safe: one slice at a time.
 */
public final class Listing {
  private final TupleIndex index;
  private final Evaluation.@Nullable Walk walk;
  private boolean complete;
  private Budget.@Nullable Limit stoppedBy;
  private long revision;

  Listing(TupleIndex index, Evaluation.@Nullable Walk walk) {
    this.index = index;
    this.walk = walk;
  }

  /** A listing whose results are known without a walk. */
  static Listing of(TupleIndex index, List<String> results) {
    Listing listing = new Listing(index, null);
    listing.known = List.copyOf(results);
    return listing;
  }

  private List<String> known = List.of();

  /** A listing with nothing to find (e.g. list-users of an object nothing was written about). */
  static Listing empty(TupleIndex index) {
    Listing listing = new Listing(index, null);
    listing.complete = true;
    return listing;
  }

  /**
   * Runs the walk on until it is complete or {@code budget} runs out, and returns what this slice
   * found, in the order found.
   *
   * @throws BudgetExceededException when the caller went away, or when the slice finished no unit
   *     of work at all (a single confirmation needs more than a whole budget): going on could never
   *     end
   */
  public List<String> run(Budget budget) {
    if (walk == null) {
      revision = index.revision();
      complete = true;
      List<String> out = known;
      known = List.of();
      return out;
    }
    if (complete) {
      return List.of();
    }
    stoppedBy = null;
    long stamp = index.readLock();
    long before = walk.progress;
    revision = index.revision(); // under the read lock: the revision this slice reads
    try {
      walk.evaluation().budget(budget);
      complete = walk.run();
    } catch (Budget.Stop stop) {
      Budget.Limit limit = budget.exceeded().orElseThrow();
      if (limit == Budget.Limit.CANCELLED || (walk.progress == before && walk.found.isEmpty())) {
        throw budget.exception();
      }
      stoppedBy = limit;
    } finally {
      budget.leave();
      index.unlockRead(stamp);
    }
    List<String> found = List.copyOf(walk.found);
    walk.found.clear();
    return found;
  }

  /**
   * The revision of the index the last slice read (0 before the first): what the slice's results
   * are true at.
   */
  public long revision() {
    return revision;
  }

  /** Whether every result has been returned. */
  public boolean complete() {
    return complete;
  }

  /** What stopped the last slice before the walk was complete; empty when nothing did. */
  public Optional<Budget.Limit> stoppedBy() {
    return Optional.ofNullable(stoppedBy);
  }

  /** Runs to the end, or until {@code limit} results, without a budget. */
  List<String> all(int limit) {
    if (walk != null) {
      walk.limit = limit;
    }
    List<String> out = new java.util.ArrayList<>(run(Budget.unlimited()));
    return out.size() > limit ? out.subList(0, limit) : out;
  }
}
