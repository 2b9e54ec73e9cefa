package dev.castellan.store;

import java.time.Instant;

/**
 * A {@link PendingTuple} as a {@link PendingStore} holds it.
 *
 * @param id a ULID the store assigned; rows list in its order
 * @param storeId the store the tuple is for
 * @param heldAt when it was first held
 */
public record HeldTuple(String id, String storeId, PendingTuple tuple, Instant heldAt) {}
