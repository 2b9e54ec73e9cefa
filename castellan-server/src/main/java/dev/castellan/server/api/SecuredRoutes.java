package dev.castellan.server.api;

import io.javalin.config.RoutesConfig;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import java.util.ArrayList;
import java.util.List;

/**
 * The only way the server's APIs register routes: each route states the {@link Right} it needs, and
 * the guard checks it, on the router's decoded parameters, before the handler runs. The routes
 * registered here form the route table that the authorization test matrix is generated from.
 */
public final class SecuredRoutes {
  /** A registered route and the right it needs. */
  public record Route(HandlerType method, String path, Right right) {}

  /** Decides whether the request's caller holds a route's right; throws when it does not. */
  @FunctionalInterface
  public interface Guard {
    void check(Context ctx, Route route);
  }

  private final RoutesConfig routes;
  private final Guard guard;
  private final List<Route> table = new ArrayList<>();

  public SecuredRoutes(RoutesConfig routes, Guard guard) {
    this.routes = routes;
    this.guard = guard;
  }

  public void get(String path, Right right, Handler handler) {
    route(HandlerType.GET, path, right, handler);
  }

  public void head(String path, Right right, Handler handler) {
    route(HandlerType.HEAD, path, right, handler);
  }

  public void post(String path, Right right, Handler handler) {
    route(HandlerType.POST, path, right, handler);
  }

  public void put(String path, Right right, Handler handler) {
    route(HandlerType.PUT, path, right, handler);
  }

  public void patch(String path, Right right, Handler handler) {
    route(HandlerType.PATCH, path, right, handler);
  }

  public void delete(String path, Right right, Handler handler) {
    route(HandlerType.DELETE, path, right, handler);
  }

  public void options(String path, Right right, Handler handler) {
    route(HandlerType.OPTIONS, path, right, handler);
  }

  /**
   * A filter before every matched route. It may refuse a request, never grant one: rights are the
   * routes' own.
   */
  public void before(Handler filter) {
    routes.before(filter);
  }

  /** Every route registered so far, in registration order. */
  public List<Route> table() {
    return List.copyOf(table);
  }

  /** A route for any method (forward-auth answers every method a gateway forwards). */
  public void route(HandlerType method, String path, Right right, Handler handler) {
    if (right.storeRole().isPresent() && !path.contains("{store_id}")) {
      throw new IllegalArgumentException(
          "a store right needs a {store_id} parameter in the path: " + method + " " + path);
    }
    Route route = new Route(method, path, right);
    table.add(route);
    Handler guarded =
        ctx -> {
          guard.check(ctx, route);
          handler.handle(ctx);
        };
    routes.addHttpHandler(method, path, guarded);
  }
}
