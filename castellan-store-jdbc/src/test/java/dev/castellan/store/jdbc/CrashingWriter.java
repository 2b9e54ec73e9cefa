package dev.castellan.store.jdbc;

import dev.castellan.engine.Tuple;
import dev.castellan.store.TupleWrite;
import java.nio.file.Path;

/**
 * Test helper run in a child JVM: opens an embedded store, commits N writes, prints {@code
 * "<storeId> <revision>"} and halts without closing anything, as a crash would.
 */
public final class CrashingWriter {
  private CrashingWriter() {}

  public static void main(String[] args) {
    JdbcStore store = JdbcStore.embedded(Path.of(args[0]));
    int writes = Integer.parseInt(args[1]);
    String storeId = store.createStore("crash").id();
    long revision = 0;
    for (int i = 0; i < writes; i++) {
      revision =
          store
              .write(storeId, TupleWrite.writes(Tuple.of("doc:" + i, "viewer", "user:a")))
              .revision();
    }
    System.out.println(storeId + " " + revision);
    System.out.flush();
    Runtime.getRuntime().halt(0);
  }
}
