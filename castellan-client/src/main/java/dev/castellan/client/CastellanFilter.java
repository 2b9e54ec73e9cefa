package dev.castellan.client;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.Principal;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * A servlet filter that lets a request through only when Castellan allows its bearer token the
 * permission of the route. Missing, invalid or expired token: 401 with {@code WWW-Authenticate:
 * Bearer} and {@code {"detail": ...}}; not allowed: 403 {@code {"detail":"Insufficient
 * permissions"}}; Castellan unreachable or failing: 503. A request no route maps is refused (403).
 *
 * <p>An allowed request carries the {@link Decision} in the attribute {@value #DECISION_ATTRIBUTE}
 * and the subject ({@code user:alice}) in {@value #SUBJECT_ATTRIBUTE}; {@code getUserPrincipal()}
 * names the subject and {@code isUserInRole} answers from the token's roles.
 *
 * <p>From code: {@link #requiring(CastellanClient, String)} or {@link #builder(CastellanClient)}.
 * From {@code web.xml}, with init parameters: {@code castellan-url} (required), and either {@code
 * permission} (one for every request) or {@code routes} (lines or {@code ;}-separated entries
 * {@code METHOD /path/{param} permission [resource-template]}); optionally {@code
 * request-timeout-ms} and {@code cache-ttl-ms}.
 */
public final class CastellanFilter implements Filter {
  /** Request attribute holding the {@link Decision} of an allowed request. */
  public static final String DECISION_ATTRIBUTE = "castellan.decision";

  /** Request attribute holding the subject of an allowed request, e.g. {@code user:alice}. */
  public static final String SUBJECT_ATTRIBUTE = "castellan.subject";

  private @Nullable Enforcer enforcer; // set by a factory, or by init() from init parameters
  private String permission = ""; // one permission for every request, or
  private @Nullable RouteTable routes; // a permission per route

  /** For {@code web.xml} and {@code @WebFilter}: configured by {@link #init} from parameters. */
  public CastellanFilter() {}

  private CastellanFilter(CastellanClient client, String permission, @Nullable RouteTable routes) {
    this.enforcer = new Enforcer(client);
    this.permission = permission;
    this.routes = routes;
  }

  /** A filter requiring {@code permission} of every request it sees. */
  public static CastellanFilter requiring(CastellanClient client, String permission) {
    Objects.requireNonNull(client, "client");
    if (Objects.requireNonNull(permission, "permission").isBlank()) {
      throw new IllegalArgumentException("the permission must not be blank");
    }
    return new CastellanFilter(client, permission.strip(), null);
  }

  /** A filter with a permission per method and path template. */
  public static Builder builder(CastellanClient client) {
    return new Builder(Objects.requireNonNull(client, "client"));
  }

  /** Routes of a {@link CastellanFilter}. */
  public static final class Builder {
    private final CastellanClient client;
    private final RouteTable.Builder routes = RouteTable.builder();

    private Builder(CastellanClient client) {
      this.client = client;
    }

    /**
     * Requires {@code permission} of {@code method pathTemplate}, e.g. {@code route("POST",
     * "/workflows/{id}/run", "run")}. Paths are relative to the web application's context.
     */
    public Builder route(String method, String pathTemplate, String permission) {
      return route(method, pathTemplate, permission, "");
    }

    /**
     * As {@link #route(String, String, String)}, asking about a resource built from the path, e.g.
     * {@code route("POST", "/workflows/{id}/run", "run", "workflow:{id}")}.
     */
    public Builder route(
        String method, String pathTemplate, String permission, String resourceTemplate) {
      routes.add(
          Objects.requireNonNull(method, "method"),
          Objects.requireNonNull(pathTemplate, "pathTemplate"),
          Objects.requireNonNull(permission, "permission"),
          Objects.requireNonNull(resourceTemplate, "resourceTemplate"));
      return this;
    }

    public CastellanFilter build() {
      RouteTable table = routes.build();
      if (table.isEmpty()) {
        throw new IllegalStateException("add at least one route; an empty table denies everything");
      }
      return new CastellanFilter(client, "", table);
    }
  }

  @Override
  public void init(FilterConfig config) throws ServletException {
    if (enforcer != null) {
      return; // built in code
    }
    String name = config.getFilterName();
    String url = param(config, "castellan-url");
    if (url.isEmpty()) {
      throw new ServletException(
          "filter "
              + name
              + ": set the init parameter castellan-url to Castellan's address, e.g."
              + " http://localhost:8080");
    }
    String single = param(config, "permission");
    String table = param(config, "routes");
    if (single.isEmpty() == table.isEmpty()) {
      throw new ServletException(
          "filter "
              + name
              + ": set exactly one of the init parameters permission (e.g. 'read') and routes"
              + " (e.g. 'POST /workflows create; GET /workflows read')");
    }
    try {
      CastellanClient.Builder client = CastellanClient.builder().baseUrl(url);
      String timeout = param(config, "request-timeout-ms");
      if (!timeout.isEmpty()) {
        client.requestTimeout(Duration.ofMillis(Long.parseLong(timeout)));
      }
      String ttl = param(config, "cache-ttl-ms");
      if (!ttl.isEmpty()) {
        client.cache(Duration.ofMillis(Long.parseLong(ttl)));
      }
      if (table.isEmpty()) {
        permission = single;
      } else {
        routes = RouteTable.parse(table);
        if (routes.isEmpty()) {
          throw new IllegalArgumentException("routes has no entries");
        }
      }
      enforcer = new Enforcer(client.build());
    } catch (IllegalArgumentException e) {
      throw new ServletException("filter " + name + ": " + e.getMessage(), e);
    }
  }

  private static String param(FilterConfig config, String name) {
    String value = config.getInitParameter(name);
    return value == null ? "" : value.strip();
  }

  @Override
  public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
      throws IOException, ServletException {
    if (!(req instanceof HttpServletRequest request)
        || !(res instanceof HttpServletResponse response)) {
      throw new ServletException("CastellanFilter protects HTTP requests only");
    }
    if (enforcer == null) {
      throw new ServletException("CastellanFilter was not initialised");
    }
    RouteTable.Requirement requirement;
    if (routes == null) {
      requirement = new RouteTable.Requirement(permission, "");
    } else {
      // The decoded, normalised path the container dispatches on, not the raw request URI.
      String path =
          request.getServletPath() + Optional.ofNullable(request.getPathInfo()).orElse("");
      Optional<RouteTable.Requirement> found = routes.match(request.getMethod(), path);
      if (found.isEmpty()) {
        refuse(response, new Enforcer.Outcome.Refused(403, Enforcer.INSUFFICIENT, ""));
        return;
      }
      requirement = found.get();
    }
    Enforcer.Outcome outcome =
        enforcer.enforce(
            request.getHeader("Authorization"), requirement.permission(), requirement.resource());
    switch (outcome) {
      case Enforcer.Outcome.Allowed allowed -> {
        request.setAttribute(DECISION_ATTRIBUTE, allowed.decision());
        request.setAttribute(SUBJECT_ATTRIBUTE, allowed.decision().subject());
        chain.doFilter(new Authenticated(request, allowed.decision()), response);
      }
      case Enforcer.Outcome.Refused refused -> refuse(response, refused);
    }
  }

  private static void refuse(HttpServletResponse response, Enforcer.Outcome.Refused refused)
      throws IOException {
    response.resetBuffer();
    response.setStatus(refused.status());
    if (!refused.challenge().isEmpty()) {
      response.setHeader("WWW-Authenticate", refused.challenge());
    }
    response.setHeader("Cache-Control", "no-store");
    response.setContentType("application/json");
    response.setCharacterEncoding("UTF-8");
    byte[] body = refused.body().getBytes(StandardCharsets.UTF_8);
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
  }

  /** The request as the application sees it after an allow: who the caller is, and its roles. */
  private static final class Authenticated extends HttpServletRequestWrapper {
    private final Decision decision;

    Authenticated(HttpServletRequest request, Decision decision) {
      super(request);
      this.decision = decision;
    }

    @Override
    public @Nullable Principal getUserPrincipal() {
      String subject = decision.subject();
      return subject.isEmpty() ? null : () -> subject;
    }

    @Override
    public @Nullable String getRemoteUser() {
      return decision.subject().isEmpty() ? null : decision.subject();
    }

    @Override
    public boolean isUserInRole(String role) {
      return decision.roles().contains(role);
    }

    @Override
    public String getAuthType() {
      return "Bearer";
    }
  }
}
