package dev.castellan.store;

import java.time.Instant;

/**
 * A stored API key: never the key itself, only the SHA-256 of its secret part.
 *
 * @param id the public part of the key ({@code cst_<id>_<secret>})
 * @param principal who the key authenticates, e.g. {@code admin} or {@code apikey:ci}
 */
public record ApiKeyRecord(
    String id, String name, String principal, String secretHash, Instant createdAt) {}
