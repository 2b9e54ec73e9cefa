package dev.castellan.server;

import dev.castellan.CastellanException;
import dev.castellan.ErrorCode;
import dev.castellan.server.api.ApiErrors;
import dev.castellan.server.api.OpenFgaApi;
import dev.castellan.server.auth.ApiKeys;
import dev.castellan.store.IndexFeed;
import dev.castellan.store.Store;
import io.javalin.Javalin;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

/**
 * The Castellan HTTP server: OpenFGA's API over a {@link Store}, every endpoint but health behind
 * credentials. Start with {@link #start(Options, Store)}, stop with {@link #close()}.
 */
public final class CastellanServer implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(CastellanServer.class);

  /**
   * How to run.
   *
   * @param port TCP port; 0 picks a free one
   * @param bootstrapToken the admin credential to accept; empty: generate one and print it
   * @param consistencyTimeout how long a request waits for its consistency token's revision
   */
  public record Options(
      String host,
      int port,
      String bootstrapToken,
      Limits limits,
      IndexFeed.Options feed,
      Duration consistencyTimeout) {

    public static Options defaults() {
      return new Options(
          "0.0.0.0", 8080, "", Limits.DEFAULT, IndexFeed.Options.DEFAULT, Duration.ofSeconds(5));
    }

    public Options withPort(int value) {
      return new Options(host, value, bootstrapToken, limits, feed, consistencyTimeout);
    }

    public Options withHost(String value) {
      return new Options(value, port, bootstrapToken, limits, feed, consistencyTimeout);
    }

    public Options withLimits(Limits value) {
      return new Options(host, port, bootstrapToken, value, feed, consistencyTimeout);
    }

    public Options withBootstrapToken(String value) {
      return new Options(host, port, value, limits, feed, consistencyTimeout);
    }
  }

  private final Javalin app;
  private final StoreRuntime runtime;
  private final Store store;
  private final String generatedToken;

  private CastellanServer(Javalin app, StoreRuntime runtime, Store store, String generatedToken) {
    this.app = app;
    this.runtime = runtime;
    this.store = store;
    this.generatedToken = generatedToken;
  }

  public static CastellanServer start(Options options, Store store) {
    StoreRuntime runtime =
        new StoreRuntime(store, options.feed(), options.consistencyTimeout(), Clock.systemUTC());
    ApiKeys keys = new ApiKeys(store, Clock.systemUTC());
    String generated = "";
    if (!options.bootstrapToken().isEmpty()) {
      keys.register(options.bootstrapToken(), "bootstrap", "admin");
    } else if (keys.list().isEmpty()) {
      // First start on an empty database: make an admin key and hand it out once.
      generated = keys.create("bootstrap", "admin");
    }
    OpenFgaApi api = new OpenFgaApi(runtime, options.limits());
    Javalin app =
        Javalin.create(
            config -> {
              config.startup.showJavalinBanner = false;
              config.concurrency.useVirtualThreads = true;
              config.http.maxRequestSize = options.limits().maxRequestBytes();
              config.jetty.host = options.host();
              config.jetty.port = options.port();
              config.routes.before(ctx -> before(ctx, keys));
              config.routes.after(ctx -> MDC.remove("request_id"));
              config.routes.get("/healthz", ctx -> ctx.json(java.util.Map.of("status", "SERVING")));
              config.routes.get("/readyz", ctx -> ctx.json(java.util.Map.of("status", "SERVING")));
              api.register(config.routes);
              config.routes.exception(CastellanException.class, (e, ctx) -> ApiErrors.send(ctx, e));
              config.routes.exception(Exception.class, (e, ctx) -> ApiErrors.internal(ctx, e));
              config.routes.error(
                  404,
                  ctx -> {
                    // Javalin's own "Endpoint ... not found" is plain text; API errors are JSON.
                    String type = ctx.res().getContentType();
                    if (type == null || !type.startsWith("application/json")) {
                      ApiErrors.write(
                          ctx, 404, ErrorCode.UNDEFINED_ENDPOINT.wireName(), "no such endpoint");
                    }
                  });
              config.routes.error(
                  405,
                  ctx ->
                      ApiErrors.write(
                          ctx, 405, ErrorCode.UNDEFINED_ENDPOINT.wireName(), "method not allowed"));
              config.routes.error(
                  413,
                  ctx ->
                      ApiErrors.write(
                          ctx,
                          413,
                          ErrorCode.VALIDATION_ERROR.wireName(),
                          "the request body is larger than "
                              + options.limits().maxRequestBytes()
                              + " bytes"));
            });
    preload(runtime, store);
    app.start();
    LOG.info("Castellan listening on {}:{}", options.host(), app.port());
    return new CastellanServer(app, runtime, store, generated);
  }

  /** Loads every store into memory before serving, so the first request is as fast as the rest. */
  private static void preload(StoreRuntime runtime, Store store) {
    String token = "";
    do {
      dev.castellan.store.Page<dev.castellan.store.StoreInfo> page =
          store.listStores(new dev.castellan.store.PageRequest(100, token));
      page.items().forEach(info -> runtime.feed(info.id()));
      token = page.continuationToken();
    } while (!token.isEmpty());
  }

  private static void before(Context ctx, ApiKeys keys) {
    String requestId =
        Optional.ofNullable(ctx.header("X-Request-Id"))
            .filter(id -> id.length() <= 64 && id.matches("[A-Za-z0-9._-]+"))
            .orElseGet(() -> UUID.randomUUID().toString());
    MDC.put("request_id", requestId);
    ctx.header("X-Request-Id", requestId);
    String path = ctx.path();
    if (path.equals("/healthz") || path.equals("/readyz")) {
      return;
    }
    String header = ctx.header("Authorization");
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) {
      throw new CastellanException(
          ErrorCode.UNAUTHENTICATED,
          "credentials are required: send 'Authorization: Bearer <api key>'");
    }
    String principal =
        keys.authenticate(header.substring(7).trim())
            .orElseThrow(
                () ->
                    new CastellanException(
                        ErrorCode.UNAUTHENTICATED, "the credentials are not valid"));
    ctx.attribute("principal", principal);
  }

  /** The port the server listens on. */
  public int port() {
    return app.port();
  }

  /**
   * The admin key made on the first start of an empty database without a bootstrap token; empty
   * otherwise (it is shown once and only its hash is kept).
   */
  public String generatedToken() {
    return generatedToken;
  }

  public StoreRuntime runtime() {
    return runtime;
  }

  @Override
  public void close() {
    app.stop();
    runtime.close();
    store.close();
  }
}
