package dev.castellan.cli;

import dev.castellan.store.Store;
import dev.castellan.store.jdbc.JdbcStore;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where Castellan keeps its data: the embedded store under a directory, or PostgreSQL. */
final class StoreOptions {
  @Option(
      names = "--data",
      paramLabel = "DIR",
      description = "directory of the embedded store (default: ./data, or $CASTELLAN_DATA)")
  Path data;

  @Option(
      names = "--pg-url",
      paramLabel = "JDBC_URL",
      description =
          "PostgreSQL instead of the embedded store, e.g."
              + " jdbc:postgresql://127.0.0.1:5432/castellan?user=postgres (or $CASTELLAN_PG_URL)")
  String pgUrl;

  Store open() {
    String url = pgUrl != null ? pgUrl : System.getenv("CASTELLAN_PG_URL");
    if (url != null && !url.isBlank()) {
      if (data != null) {
        throw new IllegalArgumentException("give either --data or --pg-url, not both");
      }
      return JdbcStore.postgres(url);
    }
    return JdbcStore.embedded(dataDirectory());
  }

  Path dataDirectory() {
    if (data != null) {
      return data;
    }
    String env = System.getenv("CASTELLAN_DATA");
    return Path.of(env == null || env.isBlank() ? "data" : env);
  }

  String describe() {
    String url = pgUrl != null ? pgUrl : System.getenv("CASTELLAN_PG_URL");
    if (url != null && !url.isBlank()) {
      int query = url.indexOf('?');
      return "PostgreSQL " + (query < 0 ? url : url.substring(0, query)); // no credentials in logs
    }
    return "embedded store in " + dataDirectory().toAbsolutePath();
  }
}
