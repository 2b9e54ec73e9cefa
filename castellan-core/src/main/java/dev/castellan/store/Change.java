package dev.castellan.store;

import dev.castellan.engine.Tuple;
import java.time.Instant;

/**
 * One changelog entry: a tuple written or deleted under {@code revision}; {@code sequence} orders
 * the changes inside a revision.
 */
public record Change(long revision, int sequence, Operation operation, Tuple tuple, Instant time) {

  public enum Operation {
    WRITE,
    DELETE
  }
}
