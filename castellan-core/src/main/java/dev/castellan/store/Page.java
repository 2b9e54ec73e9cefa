package dev.castellan.store;

import java.util.List;

/** One page of results. {@code continuationToken} is opaque and empty on the last page. */
public record Page<T>(List<T> items, String continuationToken) {
  public Page {
    items = List.copyOf(items);
    continuationToken = continuationToken == null ? "" : continuationToken;
  }

  public boolean hasMore() {
    return !continuationToken.isEmpty();
  }
}
