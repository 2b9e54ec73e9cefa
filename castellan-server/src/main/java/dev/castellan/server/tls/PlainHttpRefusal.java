package dev.castellan.server.tls;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.eclipse.jetty.io.AbstractConnection;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.AbstractConnectionFactory;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;

/**
 * What a plain-HTTP client meets on the HTTPS port: a fixed {@code 400} saying to use https, then
 * the connection closes. The request is never parsed and never reaches a handler, so nothing is
 * served in clear; it only replaces the TLS alert that clients show as "HTTP/0.9 when not allowed"
 * or "connection reset". (The request's bytes, a bearer token included, have crossed the network in
 * clear already; no answer can take them back.)
 */
final class PlainHttpRefusal extends AbstractConnectionFactory {
  static final String PROTOCOL = "castellan-plain-http-refusal";

  static final String BODY = "This port speaks HTTPS only: use https:// instead of http://.\n";

  private static final ByteBuffer RESPONSE =
      ByteBuffer.wrap(
          ("HTTP/1.1 400 Bad Request\r\n"
                  + "Content-Type: text/plain; charset=utf-8\r\n"
                  + "Content-Length: "
                  + BODY.length()
                  + "\r\nConnection: close\r\n\r\n"
                  + BODY)
              .getBytes(StandardCharsets.US_ASCII));

  /** What a client may still send after the answer before the connection is cut. */
  private static final int MAX_DISCARDED_BYTES = 64 * 1024;

  PlainHttpRefusal() {
    super(PROTOCOL);
  }

  @Override
  public Connection newConnection(Connector connector, EndPoint endPoint) {
    return configure(new Refusing(endPoint, connector), connector, endPoint);
  }

  private static final class Refusing extends AbstractConnection implements Connection.UpgradeTo {
    private int discarded;

    Refusing(EndPoint endPoint, Connector connector) {
      super(endPoint, connector.getExecutor());
    }

    @Override
    public void onUpgradeTo(ByteBuffer prefilled) {
      // The request's first bytes, read while looking for a TLS handshake: never parsed.
    }

    @Override
    public void onOpen() {
      super.onOpen();
      getEndPoint()
          .write(
              Callback.from(
                  () -> {
                    // Half-close, then read until the client closes: closing with its request
                    // unread would reset the connection and could lose the answer on the way.
                    getEndPoint().shutdownOutput();
                    fillInterested();
                  },
                  failure -> getEndPoint().close(failure)),
              RESPONSE.asReadOnlyBuffer());
    }

    @Override
    public void onFillable() {
      ByteBuffer buffer = BufferUtil.allocate(4096);
      try {
        while (true) {
          int read = getEndPoint().fill(buffer);
          if (read < 0 || (discarded += read) > MAX_DISCARDED_BYTES) {
            getEndPoint().close();
            return;
          }
          if (read == 0) {
            fillInterested();
            return;
          }
          BufferUtil.clear(buffer);
        }
      } catch (IOException e) {
        getEndPoint().close(e);
      }
    }
  }
}
