package dev.castellan.store;

import dev.castellan.engine.Tuple;
import java.time.Instant;

/** A tuple with the time it was written. */
public record StoredTuple(Tuple tuple, Instant writtenAt) {}
