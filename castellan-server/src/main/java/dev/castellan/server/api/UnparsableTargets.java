package dev.castellan.server.api;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.ErrorCode;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The server's error handler, except that a forward-auth request Jetty itself refuses as a bad
 * request (a target with invalid UTF-8, a raw non-ASCII character or a NUL, before any Castellan
 * code runs) is answered 403 like every other refused target: a gateway must only ever see 200, 401
 * or 403. Envoy's ext_authz sends the original target on the request line, so it meets Jetty's
 * parser.
 */
final class UnparsableTargets implements Request.Handler {
  /** Told of each refusal, to count and audit it. */
  interface Listener {
    void refused(String target, String clientAddress, String reason);
  }

  private final Request.Handler fallback;
  private final Listener refused;
  private final String[] paths;

  /**
   * @param fallback the error handler for every other error
   * @param refused told of each refusal
   * @param paths forward-auth paths: exact, or a prefix when ending in '/'
   */
  UnparsableTargets(Request.Handler fallback, Listener refused, String... paths) {
    this.fallback = fallback;
    this.refused = refused;
    this.paths = paths.clone();
  }

  @Override
  public boolean handle(Request request, Response response, Callback callback) throws Exception {
    String path = request.getHttpURI().getPath();
    if (response.getStatus() != HttpStatus.BAD_REQUEST_400 || path == null || !forwardAuth(path)) {
      return fallback.handle(request, response, callback);
    }
    Object message = request.getAttribute(ErrorHandler.ERROR_MESSAGE);
    String why =
        "refused request: Jetty's URI parser rejects the target ("
            + (message instanceof String s ? s : "bad request")
            + ")";
    refused.refused(request.getHttpURI().getPathQuery(), Request.getRemoteAddr(request), why);
    ObjectNode body = JsonNodeFactory.instance.objectNode();
    body.put("code", ErrorCode.FORBIDDEN.wireName());
    body.put("message", why);
    response.setStatus(HttpStatus.FORBIDDEN_403);
    response.getHeaders().put(HttpHeader.CONTENT_TYPE, "application/json");
    response.write(
        true, ByteBuffer.wrap(body.toString().getBytes(StandardCharsets.UTF_8)), callback);
    return true;
  }

  private boolean forwardAuth(String path) {
    for (String p : paths) {
      if (p.endsWith("/")
          ? path.startsWith(p) || path.equals(p.substring(0, p.length() - 1))
          : path.equals(p)) {
        return true;
      }
    }
    return false;
  }
}
