package dev.castellan.store;

import dev.castellan.model.AuthorizationModel;
import java.time.Instant;

/** An authorization model as stored: immutable, identified by a ULID. */
public record StoredModel(String id, AuthorizationModel model, Instant createdAt) {}
