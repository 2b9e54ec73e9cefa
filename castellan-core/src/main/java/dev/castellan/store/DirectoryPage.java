package dev.castellan.store;

import java.util.List;

/**
 * One page of a directory query, SCIM style: {@code startIndex} is the 1-based position of the
 * first item among all matches, {@code totalResults} the number of all matches.
 */
public record DirectoryPage<T>(List<T> items, int startIndex, int totalResults) {
  public DirectoryPage {
    items = List.copyOf(items);
  }
}
