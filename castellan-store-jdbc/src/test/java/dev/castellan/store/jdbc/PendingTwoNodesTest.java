package dev.castellan.store.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.castellan.model.ModelDsl;
import dev.castellan.store.Identity;
import dev.castellan.store.PendingStore;
import dev.castellan.store.PendingTuple;
import dev.castellan.store.StoredTuple;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two nodes (two stores with their own pools over one PostgreSQL schema) apply the rows held for
 * one person at the same moment, many times over: every row is written once (ADR 0024).
 */
class PendingTwoNodesTest {
  private static PostgresTestDatabase database;

  @BeforeAll
  static void createDatabase() throws Exception {
    database = PostgresTestDatabase.create();
  }

  @AfterAll
  static void dropDatabase() throws Exception {
    if (database != null) {
      database.close();
    }
  }

  @Test
  void twoNodesApplyingOneIdentityAtOnce_writeEachRowOnce() throws Exception {
    String url = database.freshSchemaUrl();
    Identity ann = Identity.email("ann@example.com");
    try (JdbcStore first = JdbcStore.postgres(url);
        JdbcStore second = JdbcStore.postgres(url)) {
      String storeId = first.createStore("drive").id();
      first.writeModel(
          storeId,
          ModelDsl.parse(
              "model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: [user]\n"));
      for (int round = 0; round < 5; round++) {
        List<PendingTuple> rows = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
          rows.add(PendingTuple.of("doc:" + round + "-" + i, "viewer", ann, "drive"));
        }
        first.pendingStore().hold(storeId, rows);
        long before = first.revision(storeId);
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(6);
        try {
          List<Future<PendingStore.Applied>> results = new ArrayList<>();
          for (int t = 0; t < 6; t++) {
            PendingStore node = (t % 2 == 0 ? first : second).pendingStore();
            results.add(
                pool.submit(
                    () -> {
                      go.await();
                      return node.apply(storeId, ann, "user:01ANN", t2 -> Optional.empty());
                    }));
          }
          go.countDown();
          int applied = 0;
          int claims = 0;
          for (Future<PendingStore.Applied> result : results) {
            PendingStore.Applied done = result.get();
            applied += done.applied().size();
            claims += done.isEmpty() ? 0 : 1;
          }
          assertThat(applied).as("round " + round).isEqualTo(300);
          assertThat(claims).as("one node claimed them all").isEqualTo(1);
        } finally {
          pool.shutdownNow();
        }
        assertThat(second.revision(storeId)).isEqualTo(before + 1);
        assertThat(second.changesAfter(storeId, before, 1_000)).hasSize(300);
      }
      List<StoredTuple> all = new ArrayList<>();
      second.snapshot(storeId, all::add);
      assertThat(all).hasSize(1_500);
      assertThat(second.pendingStore().count(storeId)).isZero();
    }
  }
}
