package dev.castellan.server.scim;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.api.ApiErrors;
import dev.castellan.server.api.PathParams;
import dev.castellan.server.api.Right;
import dev.castellan.server.api.SecuredRoutes;
import io.javalin.http.Context;
import java.util.List;
import java.util.Locale;

/**
 * The SCIM 2.0 service provider over HTTP at {@link #BASE} (RFC 7644). Every route needs {@link
 * Right#SCIM}, held only by provisioning keys. Errors on these paths answer in the SCIM error
 * schema ({@link #sendError}), whatever raised them, so an IdP's connector can read every refusal.
 */
public final class ScimApi {
  /** The path prefix of the service. */
  public static final String BASE = "/scim/v2";

  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** Registers the service's routes. */
  public void register(SecuredRoutes routes) {
    routes.get(BASE + "/ServiceProviderConfig", Right.SCIM, this::serviceProviderConfig);
    routes.get(BASE + "/ResourceTypes", Right.SCIM, this::resourceTypes);
    routes.get(BASE + "/ResourceTypes/{id}", Right.SCIM, this::resourceType);
    routes.get(BASE + "/Schemas", Right.SCIM, this::schemas);
    routes.get(BASE + "/Schemas/{id}", Right.SCIM, this::schema);
  }

  /** Whether a request path belongs to the service (its errors take the SCIM schema). */
  public static boolean handles(String path) {
    return path.equals(BASE) || path.startsWith(BASE + "/");
  }

  /**
   * Answers {@code e} in the SCIM error schema: a {@link ScimException}'s own body, any other
   * refusal with the status the rest of the API would give it and no {@code scimType}. A 5xx never
   * carries the exception's message.
   */
  public static void sendError(Context ctx, CastellanException e) {
    ScimError error;
    if (e instanceof ScimException scim) {
      error = scim.error();
    } else {
      int status = ApiErrors.status(e.code());
      String detail = e.getMessage();
      if (status >= 500) {
        // The generic handler logs it; the detail stays generic.
        detail = "the server could not complete the request; see its log";
        ctx.header("Retry-After", "1");
      }
      if (e.code() == ErrorCode.UNAUTHENTICATED) {
        ctx.header("WWW-Authenticate", "Bearer realm=\"castellan\"");
      }
      error =
          new ScimError(
              status,
              e.code() == ErrorCode.UNIQUENESS_CONFLICT ? ScimType.UNIQUENESS : null,
              detail == null || detail.isBlank() ? e.code().wireName() : detail);
    }
    ctx.status(error.status()).contentType(ScimProtocol.CONTENT_TYPE).result(error.toJson());
  }

  private static void send(Context ctx, ObjectNode body) {
    ctx.contentType(ScimProtocol.CONTENT_TYPE).result(body.toString());
  }

  // ------------------------------------------------------------------ discovery (RFC 7644 4)

  private void serviceProviderConfig(Context ctx) {
    send(ctx, ScimSchemas.serviceProviderConfig(location(ctx, "/ServiceProviderConfig")));
  }

  private void resourceTypes(Context ctx) {
    List<ObjectNode> types =
        List.of(
            ScimSchemas.resourceType("User", location(ctx, "/ResourceTypes/User")),
            ScimSchemas.resourceType("Group", location(ctx, "/ResourceTypes/Group")));
    send(ctx, listResponse(types));
  }

  private void resourceType(Context ctx) {
    String id = PathParams.param(ctx, "id");
    String name =
        switch (id.toLowerCase(Locale.ROOT)) {
          case "user" -> "User";
          case "group" -> "Group";
          default -> throw notFound("resource type", id);
        };
    send(ctx, ScimSchemas.resourceType(name, location(ctx, "/ResourceTypes/" + name)));
  }

  private void schemas(Context ctx) {
    List<ObjectNode> all =
        ScimSchemas.URNS.stream()
            .map(urn -> ScimSchemas.schema(urn, location(ctx, "/Schemas/" + urn)))
            .toList();
    send(ctx, listResponse(all));
  }

  private void schema(Context ctx) {
    String id = PathParams.param(ctx, "id");
    String urn =
        ScimSchemas.URNS.stream()
            .filter(u -> u.equalsIgnoreCase(id))
            .findFirst()
            .orElseThrow(() -> notFound("schema", id));
    send(ctx, ScimSchemas.schema(urn, location(ctx, "/Schemas/" + urn)));
  }

  private static ObjectNode listResponse(List<ObjectNode> resources) {
    ObjectNode out = NODES.objectNode();
    out.putArray("schemas").add(ScimProtocol.LIST_RESPONSE_SCHEMA);
    out.put("totalResults", resources.size());
    out.put("itemsPerPage", resources.size());
    out.put("startIndex", 1);
    ArrayNode list = out.putArray("Resources");
    resources.forEach(list::add);
    return out;
  }

  /** The absolute URL of {@code suffix} under the service, as this request reached it. */
  static String location(Context ctx, String suffix) {
    String url = ctx.url();
    int at = url.indexOf(BASE);
    String root = at < 0 ? url : url.substring(0, at);
    return root + BASE + suffix;
  }

  static ScimException notFound(String what, String id) {
    return new ScimException(
        new ScimError(404, null, "no " + what + " " + FilterParser.abbreviate(id)));
  }
}
