package dev.castellan.store;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;

/** Page size and where to continue; an empty token starts at the beginning. */
public record PageRequest(int pageSize, String continuationToken) {

  public static final int MAX_PAGE_SIZE = 1_000;

  public PageRequest {
    if (pageSize < 1 || pageSize > MAX_PAGE_SIZE) {
      throw new CastellanException(
          ErrorCode.VALIDATION_ERROR,
          "page_size must be between 1 and " + MAX_PAGE_SIZE + ", was " + pageSize);
    }
    continuationToken = continuationToken == null ? "" : continuationToken;
  }

  public static PageRequest first(int pageSize) {
    return new PageRequest(pageSize, "");
  }
}
