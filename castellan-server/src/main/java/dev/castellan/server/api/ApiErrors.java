package dev.castellan.server.api;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import io.javalin.http.Context;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns failures into OpenFGA's error bodies, {@code {"code", "message"}}, with OpenFGA's status
 * codes. 5xx bodies never carry internals; the cause goes to the log with the request id.
 *
 * <p>A streamed-list-objects request refused before its stream starts answers as OpenFGA's HTTP
 * gateway answers a server stream that fails before its first message (its stream error handler in
 * {@code cmd/run/run.go}, grpc-gateway's {@code ForwardResponseStream}): the same status, and the
 * body {@code {"error": {"code": <gRPC code>, "message", "details": []}}}.
 */
public final class ApiErrors {
  private static final Logger LOG = LoggerFactory.getLogger(ApiErrors.class);

  private static final Pattern STREAMED = Pattern.compile("^/stores/[^/]+/streamed-list-objects$");

  private ApiErrors() {}

  public static int status(ErrorCode code) {
    return switch (code) {
      case UNAUTHENTICATED, USER_DEACTIVATED, CREDENTIAL_EXPIRED -> 401;
      case FORBIDDEN, IDENTITY_NOT_PROVISIONED -> 403;
      case STORE_ID_NOT_FOUND, UNDEFINED_ENDPOINT, NOT_FOUND -> 404;
      case ALREADY_EXISTS, UNIQUENESS_CONFLICT -> 409;
      case VERSION_MISMATCH -> 412;
      case REQUEST_TOO_LARGE -> 413;
      case TOO_MANY_AUTHENTICATION_FAILURES -> 429;
      case CONSISTENCY_TIMEOUT, STORE_UNAVAILABLE -> 503;
      // OpenFGA serves its internal codes (4000-4999) as 500, deadline_exceeded and cancelled
      // included (pkg/server/errors/encoded_errors.go, NewEncodedError).
      case INTERNAL_ERROR, DEADLINE_EXCEEDED, CANCELLED -> 500;
      default -> 400;
    };
  }

  public static void send(Context ctx, CastellanException e) {
    int status = status(e.code());
    String message = e.getMessage();
    if (status >= 500) {
      LOG.warn(
          "request {} {} failed: {} ({})",
          ctx.method(),
          ctx.path(),
          e.code().wireName(),
          e.getMessage(),
          e.getCause());
      if (e.code() == ErrorCode.INTERNAL_ERROR || e.code() == ErrorCode.STORE_UNAVAILABLE) {
        message = "the server could not complete the request; see its log";
      }
      ctx.header("Retry-After", "1");
    }
    if (status == 401) {
      ctx.header("WWW-Authenticate", challenge(e.code()));
    }
    write(ctx, status, e.code().wireName(), message);
  }

  /**
   * The {@code WWW-Authenticate} value of a 401: RFC 6750's {@code invalid_token} when a known
   * credential has expired, so that a client can tell it needs a new key rather than a retry.
   */
  public static String challenge(ErrorCode code) {
    return code == ErrorCode.CREDENTIAL_EXPIRED
        ? "Bearer realm=\"castellan\", error=\"invalid_token\","
            + " error_description=\"the credential has expired\""
        : "Bearer realm=\"castellan\"";
  }

  public static void internal(Context ctx, Exception e) {
    LOG.error("request {} {} failed unexpectedly", ctx.method(), ctx.path(), e);
    write(ctx, 500, ErrorCode.INTERNAL_ERROR.wireName(), "internal server error");
  }

  /** The gRPC code OpenFGA's gateway writes for an error named {@code wireName}. */
  private static int grpcCode(String wireName) {
    for (ErrorCode code : ErrorCode.values()) {
      if (code.wireName().equals(wireName)) {
        return OpenFgaShapes.grpcCode(code);
      }
    }
    return OpenFgaShapes.grpcCode(ErrorCode.INTERNAL_ERROR);
  }

  public static void write(Context ctx, int status, String code, @Nullable String message) {
    // A wrong method is refused by the router, before any stream: the plain body.
    if (status != 405 && STREAMED.matcher(ctx.path()).find()) {
      ObjectNode line = JsonNodeFactory.instance.objectNode();
      ObjectNode error = line.putObject("error");
      error.put("code", grpcCode(code));
      error.put("message", message);
      error.putArray("details");
      ctx.status(status).contentType("application/json").result(line.toString());
      return;
    }
    ObjectNode body = JsonNodeFactory.instance.objectNode();
    body.put("code", code);
    body.put("message", message);
    ctx.status(status).contentType("application/json").result(body.toString());
  }
}
