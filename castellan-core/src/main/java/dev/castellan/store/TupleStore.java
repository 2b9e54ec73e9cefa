package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Tuple;
import dev.castellan.engine.TupleKey;
import java.time.Instant;
import java.util.Collection;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.LongConsumer;
import org.jspecify.annotations.Nullable;

/**
 * The relationship tuples of each store and their changelog. Every tuple write is one transaction
 * that takes the next revision of its store: revisions of a store commit in order and without gaps,
 * and each write appends its changes to the store's changelog under that revision. The rules a
 * write obeys (duplicates, missing tuples, size limits) are {@link WritePlanner}'s, shared by every
 * implementation.
 *
 * <p>Methods throw {@code STORE_ID_NOT_FOUND} for a store the {@link StoreCatalog} does not list.
 * Failures of the database surface as {@code STORE_UNAVAILABLE}, never as raw SQL errors.
 */
public interface TupleStore {

  /** Most tuples one write may carry, unless configured otherwise (OpenFGA's default). */
  int DEFAULT_MAX_TUPLES_PER_WRITE = 100;

  /**
   * Applies deletes then writes atomically under the store's next revision.
   *
   * @throws dev.castellan.CastellanException {@code WRITE_FAILED_DUE_TO_INVALID_INPUT} when a tuple
   *     exists (or is missing, for a delete) and the request does not ask to ignore that; nothing
   *     is written then
   */
  WriteResult write(String storeId, TupleWrite write);

  /**
   * Deletes every tuple matching {@code filter} (which must name an object, a user, or an object
   * type and relation) in one revision; a write with no match takes no revision.
   */
  WriteResult deleteMatching(String storeId, TupleFilter filter);

  /**
   * Bulk load: writes {@code tuples} in batches of {@code batchSize}, one revision per batch,
   * skipping tuples that already exist. Batches committed before a failure stay committed; {@code
   * progress} hears the running count after each batch.
   */
  default WriteResult importTuples(
      String storeId, Iterator<Tuple> tuples, int batchSize, LongConsumer progress) {
    long revision = revision(storeId);
    long written = 0;
    long consumed = 0;
    // Keyed by tuple key: a tuple repeated within a batch counts once, like one already stored.
    Map<TupleKey, Tuple> batch = new LinkedHashMap<>();
    while (tuples.hasNext()) {
      Tuple tuple = tuples.next();
      batch.putIfAbsent(tuple.key(), tuple);
      consumed++;
      if (batch.size() == batchSize || !tuples.hasNext()) {
        WriteResult result =
            write(storeId, new TupleWrite(List.copyOf(batch.values()), List.of(), true, false));
        revision = result.revision();
        written += result.written();
        batch.clear();
        progress.accept(consumed);
      }
    }
    return new WriteResult(revision, (int) written, 0);
  }

  /** Tuples matching {@code filter}, in a stable order, a page at a time. */
  Page<StoredTuple> read(String storeId, TupleFilter filter, PageRequest page);

  /**
   * Streams every tuple of the store as of one revision to {@code sink} and returns that revision.
   * Used to load a node's index.
   */
  long snapshot(String storeId, Consumer<StoredTuple> sink);

  /** The store's latest committed revision (0 before its first write). */
  long revision(String storeId);

  /**
   * The latest committed revision of each of {@code storeIds} that still exists, in one look: what
   * a node's {@link ChangeFeed} polls to learn which of its stores changed. A store missing from
   * the result was deleted (or never existed). An implementation over a database answers with one
   * query; this default asks store by store.
   */
  default Map<String, Long> revisions(Collection<String> storeIds) {
    Map<String, Long> out = new HashMap<>();
    for (String storeId : storeIds) {
      try {
        out.put(storeId, revision(storeId));
      } catch (CastellanException e) {
        if (e.code() != ErrorCode.STORE_ID_NOT_FOUND) {
          throw e;
        }
      }
    }
    return out;
  }

  /**
   * Changes after {@code revision}, in revision and sequence order (a revision's deletes before its
   * writes), about {@code limit}: whole revisions only, never a part of one, so a revision larger
   * than the limit is returned whole. Bulk imports therefore commit in revisions of bounded size.
   */
  List<Change> changesAfter(String storeId, long revision, int limit);

  /**
   * OpenFGA's read-changes: changes of objects of {@code objectType} (all when empty), oldest
   * first, from {@code startTime} (null: the beginning). Unlike other pages, the token is never
   * empty once a change was returned: it marks the position after the last change, so a client
   * polls with it for what comes next; an empty page means nothing newer yet.
   */
  Page<Change> readChanges(
      String storeId, String objectType, @Nullable Instant startTime, PageRequest page);

  /** Deletes tuples expired at {@code now}, recording the deletions in one revision; the count. */
  int purgeExpired(String storeId, Instant now);

  /**
   * Where reads that may lag behind the latest commit can go: a read replica of this store's
   * database (a PostgreSQL streaming standby, ADR 0018), or empty when there is none and every read
   * goes to this store. The replica's answer is only for reads ({@link #read}, {@link
   * #readChanges}, {@link #snapshot}, {@link #changesAfter}, {@link #revision}, {@link
   * #revisions}); a read it cannot serve (the replica is down, or has not replayed the store yet)
   * is answered by this store instead. Writes, and reads that must see the caller's own writes
   * without a token, go to this store.
   */
  default Optional<TupleStore> readReplica() {
    return Optional.empty();
  }

  /**
   * The read replica once it has replayed revision {@code atLeast} of {@code storeId} (a request's
   * consistency token), waiting for that at most the replica's bound; empty when there is no
   * replica, or it is down, or it has not replayed the revision by then: read this store instead.
   */
  default Optional<TupleStore> readReplica(String storeId, long atLeast) {
    return Optional.empty();
  }

  /**
   * Where reads that must see the latest commit go ({@code HIGHER_CONSISTENCY}): this store, which
   * is always current. A store with a read replica answers its primary and counts the read as one
   * sent to the primary ({@link ReplicaStats#latest}); call it once per request.
   */
  default TupleStore latestReads() {
    return this;
  }
}
