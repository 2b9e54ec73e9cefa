package dev.castellan.server.api;

import dev.castellan.server.auth.Principal;
import io.javalin.http.Context;
import java.util.Objects;

/** The caller of a route behind authentication, which sets it before any such route runs. */
final class Callers {
  private Callers() {}

  static Principal of(Context ctx) {
    return Objects.requireNonNull(ctx.attribute("principal"), "no authenticated caller");
  }
}
