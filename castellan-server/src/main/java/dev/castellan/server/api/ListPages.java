package dev.castellan.server.api;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.engine.Budget;
import dev.castellan.engine.Listing;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * The pages of list-objects and list-users.
 *
 * <p>A listing that finishes within its budget is sorted and paged as before: each page is the next
 * {@code page_size} results after the last one returned (token {@code l1:<last>}), computed again
 * for each page. A listing cut by its budget (deadline, steps or result bytes; issue 12) returns
 * what it found, sorted, and a token that resumes the walk where it stopped (token {@code
 * p1:<id>:<page>}): its state waits here, on the node that started it, for at most {@link #IDLE}
 * between pages. Each later page runs the walk on under a new budget and returns what it finds
 * then, sorted; so such a listing is sorted page by page, not as a whole. Nothing is cut silently:
 * a page without a token is the last one.
 *
 * <p>A resumed page is bound to the store, the caller and the request it continues (its body but
 * for paging and consistency); re-sending the token of the page before is answered with that page
 * again, so a client may retry a page whose answer it lost.
 */
final class ListPages {
  /** How long a cut listing's state waits for its next page. */
  static final Duration IDLE = Duration.ofSeconds(60);

  /** Cut listings held at once by this node; the least recently used goes first. */
  static final int CAPACITY = 256;

  private static final SecureRandom RANDOM = new SecureRandom();

  /** What a page request asks for. */
  record Request(String storeId, String caller, String fingerprint, String token, int pageSize) {}

  /**
   * One page.
   *
   * @param items the results, sorted
   * @param next the token of the next page; empty on the last
   * @param cut what stopped the walk on this page, when it did
   * @param computed results the walk found for this request (the whole listing when it finished at
   *     once)
   * @param revision the revision of the index the walk last read: what the page is true at
   */
  record Page(
      List<String> items, String next, Optional<Budget.Limit> cut, int computed, long revision) {}

  private final LinkedHashMap<String, Cursor> cursors = new LinkedHashMap<>(16, 0.75f, true);

  /**
   * The page {@code request} asks for; a new listing comes from {@code start}.
   *
   * @throws CastellanException {@code invalid_continuation_token} for a token that is malformed,
   *     expired, from another node or for another request
   * @throws dev.castellan.engine.BudgetExceededException when the walk could not finish one unit of
   *     work within {@code budget}, or the client went away
   */
  Page page(Request request, Supplier<Listing> start, Budget budget) {
    String token = request.token();
    if (token.isEmpty()) {
      return first(request, start, budget, null);
    }
    String raw = decode(token);
    if (raw.startsWith("l1:")) {
      return first(request, start, budget, raw.substring(3));
    }
    if (!raw.startsWith("p1:")) {
      throw invalid();
    }
    String[] parts = raw.substring(3).split(":", -1);
    if (parts.length != 2) {
      throw invalid();
    }
    long page;
    try {
      page = Long.parseLong(parts[1]);
    } catch (NumberFormatException e) {
      throw invalid();
    }
    Cursor cursor = find(parts[0], request);
    cursor.lock.lock();
    try {
      if (page == cursor.page - 1 && cursor.last != null) {
        return cursor.last; // a retry of the page before
      }
      if (page != cursor.page) {
        throw invalid();
      }
      return cursor.next(request.pageSize(), budget);
    } catch (RuntimeException e) {
      forget(cursor);
      throw e;
    } finally {
      cursor.lock.unlock();
    }
  }

  private Page first(
      Request request, Supplier<Listing> start, Budget budget, @Nullable String after) {
    Listing listing = start.get();
    List<String> found = new ArrayList<>(listing.run(budget));
    Collections.sort(found);
    if (listing.complete()) {
      return sortedPage(found, after, request.pageSize(), listing.revision());
    }
    Cursor cursor = new Cursor(request, listing, after);
    cursor.add(found);
    Page page = cursor.take(request.pageSize(), listing.stoppedBy(), found.size());
    if (!page.next().isEmpty()) {
      remember(cursor);
    }
    return page;
  }

  /** A page of a complete, sorted listing: the results after {@code after}. */
  private static Page sortedPage(
      List<String> sorted, @Nullable String after, int pageSize, long revision) {
    int start = 0;
    if (after != null) {
      start = Collections.binarySearch(sorted, after);
      start = start >= 0 ? start + 1 : -start - 1;
    }
    int end = Math.min(sorted.size(), start + pageSize);
    String next = end < sorted.size() ? encode("l1:" + sorted.get(end - 1)) : "";
    return new Page(
        List.copyOf(sorted.subList(start, end)), next, Optional.empty(), sorted.size(), revision);
  }

  /** A cut listing between its pages. */
  private final class Cursor {
    final String id;
    final Request request;
    final Listing listing;
    final @Nullable String after;
    final ArrayDeque<String> pending = new ArrayDeque<>();
    final ReentrantLock lock = new ReentrantLock();
    long page = 1;
    @Nullable Page last;
    long usedNanos = System.nanoTime();

    Cursor(Request request, Listing listing, @Nullable String after) {
      byte[] id = new byte[16];
      RANDOM.nextBytes(id);
      this.id = Base64.getUrlEncoder().withoutPadding().encodeToString(id);
      this.request = request;
      this.listing = listing;
      this.after = after;
    }

    /** Found results, sorted; those up to {@link #after} were on an earlier, complete page. */
    void add(List<String> sorted) {
      for (String item : sorted) {
        if (after == null || item.compareTo(after) > 0) {
          pending.add(item);
        }
      }
    }

    Page next(int pageSize, Budget budget) {
      usedNanos = System.nanoTime();
      int computed = 0;
      Optional<Budget.Limit> cut = Optional.empty();
      if (pending.size() < pageSize && !listing.complete()) {
        List<String> found = new ArrayList<>(listing.run(budget));
        Collections.sort(found);
        add(found);
        computed = found.size();
        cut = listing.stoppedBy();
      }
      Page result = take(pageSize, cut, computed);
      if (result.next().isEmpty()) {
        forget(this);
      }
      return result;
    }

    Page take(int pageSize, Optional<Budget.Limit> cut, int computed) {
      List<String> items = new ArrayList<>(Math.min(pageSize, pending.size()));
      while (items.size() < pageSize && !pending.isEmpty()) {
        items.add(pending.poll());
      }
      boolean more = !pending.isEmpty() || !listing.complete();
      String next = more ? encode("p1:" + id + ":" + (page + 1)) : "";
      page++;
      last = new Page(List.copyOf(items), next, cut, computed, listing.revision());
      return last;
    }

    boolean expired(long now) {
      return now - usedNanos > IDLE.toNanos();
    }
  }

  private synchronized void remember(Cursor cursor) {
    purge();
    while (cursors.size() >= CAPACITY) {
      Iterator<Cursor> eldest = cursors.values().iterator();
      eldest.next();
      eldest.remove();
    }
    cursors.put(cursor.id, cursor);
  }

  private synchronized void forget(Cursor cursor) {
    cursors.remove(cursor.id, cursor);
  }

  private synchronized Cursor find(String id, Request request) {
    purge();
    Cursor cursor = cursors.get(id);
    if (cursor == null) {
      throw new CastellanException(
          ErrorCode.INVALID_CONTINUATION_TOKEN,
          "the continuation token belongs to a listing that was cut by its deadline and is no"
              + " longer held: it waits "
              + IDLE.toSeconds()
              + " s between pages, on the node that started it; list again without a token");
    }
    Request first = cursor.request;
    if (!first.storeId().equals(request.storeId())
        || !first.caller().equals(request.caller())
        || !first.fingerprint().equals(request.fingerprint())) {
      throw invalid();
    }
    cursor.usedNanos = System.nanoTime();
    return cursor;
  }

  private void purge() {
    long now = System.nanoTime();
    cursors.values().removeIf(c -> c.expired(now));
  }

  /** Cut listings held now (for tests and metrics). */
  synchronized int held() {
    return cursors.size();
  }

  private static String encode(String raw) {
    return Base64.getUrlEncoder()
        .withoutPadding()
        .encodeToString(raw.getBytes(StandardCharsets.UTF_8));
  }

  private static String decode(String token) {
    try {
      return new String(Base64.getUrlDecoder().decode(token), StandardCharsets.UTF_8);
    } catch (IllegalArgumentException e) {
      throw invalid();
    }
  }

  private static CastellanException invalid() {
    return new CastellanException(
        ErrorCode.INVALID_CONTINUATION_TOKEN, "continuation_token is not valid for this request");
  }
}
