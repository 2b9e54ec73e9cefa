package dev.castellan.cli;

import dev.castellan.server.CastellanServer;
import dev.castellan.server.Limits;
import dev.castellan.store.Store;
import dev.castellan.store.jdbc.JdbcStore;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code castellan serve}: the HTTP server, until interrupted. */
@Command(name = "serve", description = "Run the Castellan server.")
final class ServeCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Mixin StoreOptions storeOptions = new StoreOptions();

  @Option(names = "--port", description = "HTTP port (default: 8080, or $CASTELLAN_PORT)")
  Integer port;

  @Option(names = "--host", description = "address to listen on (default: 0.0.0.0)")
  String host = "0.0.0.0";

  @Option(
      names = "--max-tuples-per-write",
      description = "tuples one write may carry (default 100, or $CASTELLAN_MAX_TUPLES_PER_WRITE)")
  Integer maxTuplesPerWrite;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    long started = System.nanoTime();
    Store store = storeOptions.open();
    String bootstrap = env("CASTELLAN_BOOTSTRAP_TOKEN", "");
    CastellanServer.Options options =
        CastellanServer.Options.defaults()
            .withHost(host)
            .withPort(port != null ? port : Integer.parseInt(env("CASTELLAN_PORT", "8080")))
            .withBootstrapToken(bootstrap)
            .withLimits(
                Limits.DEFAULT.withMaxTuplesPerWrite(
                    maxTuplesPerWrite != null
                        ? maxTuplesPerWrite
                        : Integer.parseInt(env("CASTELLAN_MAX_TUPLES_PER_WRITE", "100"))));
    CastellanServer server = CastellanServer.start(options, store);
    AutoCloseable listener =
        store instanceof JdbcStore jdbc ? jdbc.listen(server.runtime()::wake) : () -> {};
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    listener.close();
                  } catch (Exception e) {
                    // shutting down anyway
                  }
                  server.close();
                  stopped.countDown();
                },
                "castellan-shutdown"));
    out.printf(
        "Castellan is serving on http://%s:%d (%s), ready in %d ms%n",
        host.equals("0.0.0.0") ? "localhost" : host,
        server.port(),
        storeOptions.describe(),
        (System.nanoTime() - started) / 1_000_000);
    if (!server.generatedToken().isEmpty()) {
      out.println();
      out.println("Admin API key (shown once; set CASTELLAN_BOOTSTRAP_TOKEN to choose your own):");
      out.println("  " + server.generatedToken());
      out.println();
      out.println(
          "Try:  curl -H 'Authorization: Bearer "
              + server.generatedToken()
              + "' "
              + "http://localhost:"
              + server.port()
              + "/stores");
    }
    out.flush();
    stopped.await();
    return 0;
  }

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }
}
