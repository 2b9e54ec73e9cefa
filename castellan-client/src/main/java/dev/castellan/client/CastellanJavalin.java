package dev.castellan.client;

import io.javalin.config.JavalinConfig;
import io.javalin.config.Key;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.security.RouteRole;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import org.jspecify.annotations.Nullable;

/**
 * Castellan for Javalin 7. Install it once, then mark each route with the permission it needs:
 *
 * <pre>{@code
 * Javalin.create(config -> {
 *   CastellanJavalin.install(config, client);
 *   config.routes.post("/workflows/{id}/run", this::run, requirePermission("run"));
 *   config.routes.get("/healthz", ctx -> ctx.result("ok"), CastellanJavalin.PUBLIC);
 * });
 * }</pre>
 *
 * <p>A {@link #requirePermission(String)} is also a {@link Handler}, for a before-handler on a
 * path: {@code config.routes.before("/reports/*", requirePermission("read"))}.
 *
 * <p>Every matched route must either carry a requirement, be marked {@link #PUBLIC}, or have been
 * allowed by a before-handler; any other route is refused with 403, so a route added without a
 * permission is closed rather than open. Refusals follow the usual API-gateway shape: 401 with
 * {@code WWW-Authenticate: Bearer} for a missing, invalid or expired token, 403 {@code
 * {"detail":"Insufficient permissions"}}, 503 when Castellan cannot answer. An allowed request
 * carries the {@link Decision} in the attribute {@value #DECISION_ATTRIBUTE} and the subject in
 * {@value #SUBJECT_ATTRIBUTE} (see {@link #decision(Context)}).
 */
public final class CastellanJavalin {
  /** Context attribute holding the {@link Decision} of an allowed request. */
  public static final String DECISION_ATTRIBUTE = CastellanFilter.DECISION_ATTRIBUTE;

  /** Context attribute holding the subject of an allowed request, e.g. {@code user:alice}. */
  public static final String SUBJECT_ATTRIBUTE = CastellanFilter.SUBJECT_ATTRIBUTE;

  /** Marks a route that needs no permission (health checks, the login page). */
  public static final RouteRole PUBLIC = new RouteRole() {};

  private static final Key<Enforcer> ENFORCER = new Key<>("dev.castellan.client.enforcer");

  private CastellanJavalin() {}

  /**
   * Makes {@code client} answer for this app, and enforces route requirements before each matched
   * route's handler.
   */
  public static void install(JavalinConfig config, CastellanClient client) {
    Objects.requireNonNull(config, "config");
    config.appData(ENFORCER, new Enforcer(client));
    config.routes.beforeMatched(CastellanJavalin::enforceRoute);
  }

  /** A requirement of {@code permission}: a route role, and a before-handler. */
  public static Requirement requirePermission(String permission) {
    if (Objects.requireNonNull(permission, "permission").isBlank()) {
      throw new IllegalArgumentException("the permission must not be blank");
    }
    return new Requirement(permission.strip(), ctx -> "");
  }

  /** The decision that let this request in, if any. */
  public static Optional<Decision> decision(Context ctx) {
    return Optional.ofNullable(ctx.attribute(DECISION_ATTRIBUTE));
  }

  /**
   * A permission a request must hold, and optionally the resource it is asked on. Used as a {@link
   * RouteRole} on a route, or as a {@link Handler} before one.
   */
  public static final class Requirement implements RouteRole, Handler {
    private final String permission;
    private final Function<Context, ? extends @Nullable String> resource;

    private Requirement(String permission, Function<Context, ? extends @Nullable String> resource) {
      this.permission = permission;
      this.resource = resource;
    }

    /**
     * The same permission, asked on the resource {@code resource} computes from the request (null
     * or empty: no resource).
     */
    public Requirement on(Function<Context, ? extends @Nullable String> resource) {
      return new Requirement(permission, Objects.requireNonNull(resource, "resource"));
    }

    /**
     * The same permission, asked on {@code type:<path parameter>}, e.g. {@code
     * requirePermission("run").on("workflow", "id")} asks about {@code workflow:42} for {@code
     * /workflows/42/run}.
     */
    public Requirement on(String type, String pathParam) {
      Objects.requireNonNull(type, "type");
      Objects.requireNonNull(pathParam, "pathParam");
      return on(ctx -> type + ":" + ctx.pathParam(pathParam));
    }

    public String permission() {
      return permission;
    }

    @Override
    public void handle(Context ctx) {
      enforce(ctx, this);
    }

    @Override
    public String toString() {
      return "requirePermission(" + permission + ")";
    }
  }

  private static void enforceRoute(Context ctx) {
    boolean required = false;
    for (RouteRole role : ctx.routeRoles()) {
      if (role instanceof Requirement requirement) {
        required = true;
        if (!enforce(ctx, requirement)) {
          return;
        }
      }
    }
    if (required || ctx.routeRoles().contains(PUBLIC) || decision(ctx).isPresent()) {
      return;
    }
    // Deny by default: a route nobody gave a permission to is closed, not open.
    refuse(ctx, new Enforcer.Outcome.Refused(403, Enforcer.INSUFFICIENT, ""));
  }

  /** Enforces one requirement; false when the request was refused (and answered). */
  private static boolean enforce(Context ctx, Requirement requirement) {
    Enforcer enforcer;
    try {
      enforcer = ctx.appData(ENFORCER);
    } catch (RuntimeException e) {
      enforcer = null;
    }
    if (enforcer == null) {
      throw new IllegalStateException(
          "requirePermission needs CastellanJavalin.install(config, client) in Javalin.create");
    }
    String resource;
    try {
      resource = Objects.requireNonNullElse(requirement.resource.apply(ctx), "");
    } catch (RuntimeException e) {
      // No resource can be named (say, a path parameter is missing): nothing to allow.
      refuse(ctx, new Enforcer.Outcome.Refused(403, Enforcer.INSUFFICIENT, ""));
      return false;
    }
    Enforcer.Outcome outcome =
        enforcer.enforce(ctx.header("Authorization"), requirement.permission, resource);
    return switch (outcome) {
      case Enforcer.Outcome.Allowed allowed -> {
        ctx.attribute(DECISION_ATTRIBUTE, allowed.decision());
        ctx.attribute(SUBJECT_ATTRIBUTE, allowed.decision().subject());
        yield true;
      }
      case Enforcer.Outcome.Refused refused -> {
        refuse(ctx, refused);
        yield false;
      }
    };
  }

  private static void refuse(Context ctx, Enforcer.Outcome.Refused refused) {
    ctx.status(refused.status());
    if (!refused.challenge().isEmpty()) {
      ctx.header("WWW-Authenticate", refused.challenge());
    }
    ctx.header("Cache-Control", "no-store");
    ctx.contentType("application/json");
    ctx.result(refused.body());
    ctx.skipRemainingHandlers();
  }
}
