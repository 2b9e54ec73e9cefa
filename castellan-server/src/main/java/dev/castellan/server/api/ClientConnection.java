package dev.castellan.server.api;

import io.javalin.http.Context;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import org.eclipse.jetty.ee10.servlet.ServletContextRequest;

/**
 * Whether the client of a request is still there, for an evaluation's budget to poll (issue 12:
 * work went on after the clients had disconnected).
 *
 * <p>This is only as good as what Jetty notices. Jetty 12 reports a failure of the request being
 * handled (its idle timeout, an HTTP/2 stream reset, a read or write on a broken connection) to the
 * request's failure listeners, and the evaluation then stops at its next poll. But an HTTP/1.1
 * connection is not read while its request is handled: a client that closes its connection after
 * sending a check is not noticed until the response is written (measured with Jetty 12.1: not
 * within 40 s). Watching the socket ourselves would mean reading bytes behind Jetty's back (taking
 * a pipelined request, breaking TLS) or registering the read interest Jetty registers itself when
 * the response is done. So on HTTP/1.1 the deadline, not the disconnect, is what bounds the work of
 * a client that went away: 1 s for a check, 3 s for the others by default.
 */
final class ClientConnection {
  private static final BooleanSupplier NEVER = () -> false;

  private ClientConnection() {}

  /** A signal that turns true once the client of {@code ctx} has gone. */
  static BooleanSupplier gone(Context ctx) {
    ServletContextRequest request = ServletContextRequest.getServletContextRequest(ctx.req());
    if (request == null) {
      return NEVER;
    }
    AtomicBoolean gone = new AtomicBoolean();
    request.addFailureListener(failure -> gone.set(true));
    return gone::get;
  }
}
