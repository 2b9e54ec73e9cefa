package dev.castellan.server.scim;

import io.javalin.http.Context;

/**
 * The {@value #NAME} header of SCIM write responses (ADR 0019): the RBAC revision that holds the
 * write, which {@code POST /api/authorize} takes as {@code consistency_token} to decide only once
 * it applies. Every SCIM write handler sets it through {@link #set}, also when the write changed no
 * membership (then any decision already sees it).
 */
final class ConsistencyHeader {
  static final String NAME = "Castellan-Consistency-Token";

  private ConsistencyHeader() {}

  static void set(Context ctx, String token) {
    ctx.header(NAME, token);
  }
}
