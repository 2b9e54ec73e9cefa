package dev.castellan.store;

import java.time.Instant;

/** A store: the unit of isolation, with its own models, tuples and revisions. */
public record StoreInfo(String id, String name, Instant createdAt, Instant updatedAt) {}
