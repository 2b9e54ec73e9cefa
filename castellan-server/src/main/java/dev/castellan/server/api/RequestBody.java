package dev.castellan.server.api;

import io.javalin.http.Context;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * A small JSON request body as text, read into one array of its declared length. Javalin's own
 * reading ({@code ctx.body()}) copies every body through a fresh 8 KiB buffer and a growing stream,
 * which was a third of the heap a check allocated. Bodies of unknown length (chunked), larger than
 * {@link #MAX_DIRECT_BYTES} or in a charset other than UTF-8 are left to Javalin, and so to its
 * request size limit and 413.
 */
final class RequestBody {
  /**
   * Declared lengths read directly: a decision's body is far smaller. An array of the declared
   * length is made before the bytes arrive, so the bound also limits what a client that declares a
   * length and sends nothing can hold.
   */
  static final int MAX_DIRECT_BYTES = 16 * 1024;

  private RequestBody() {}

  /**
   * The body as text, as {@code ctx.body()} gives it; read once (the stream is consumed). {@code
   * maxRequestBytes} is the server's request size limit, which Javalin enforces on what it reads.
   */
  static String text(Context ctx, long maxRequestBytes) {
    long declared = ctx.req().getContentLengthLong();
    String charset = ctx.req().getCharacterEncoding();
    if (declared < 0
        || declared > Math.min(MAX_DIRECT_BYTES, maxRequestBytes)
        || (charset != null && !charset.equalsIgnoreCase("UTF-8"))) {
      return ctx.body();
    }
    if (declared == 0) {
      return "";
    }
    try {
      // Fewer bytes than declared when the client stops early: what came, as Javalin reads it.
      byte[] bytes = ctx.req().getInputStream().readNBytes((int) declared);
      return new String(bytes, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException("the request body could not be read", e);
    }
  }
}
