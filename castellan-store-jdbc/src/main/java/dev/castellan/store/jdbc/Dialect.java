package dev.castellan.store.jdbc;

import java.sql.Connection;

/** What differs between the databases Castellan stores its state in. */
enum Dialect {
  POSTGRESQL("classpath:db/migration/postgresql", Connection.TRANSACTION_REPEATABLE_READ) {
    @Override
    String upsertAssertions() {
      return "INSERT INTO assertions (store_id, model_id, assertions_json) VALUES (?, ?, ?)"
          + " ON CONFLICT (store_id, model_id)"
          + " DO UPDATE SET assertions_json = EXCLUDED.assertions_json";
    }
  },
  H2("classpath:db/migration/h2", 6 /* org.h2.engine.Constants.TRANSACTION_SNAPSHOT */) {
    @Override
    String upsertAssertions() {
      return "MERGE INTO assertions (store_id, model_id, assertions_json) KEY (store_id, model_id)"
          + " VALUES (?, ?, ?)";
    }
  };

  private final String migrations;
  private final int snapshotIsolation;

  Dialect(String migrations, int snapshotIsolation) {
    this.migrations = migrations;
    this.snapshotIsolation = snapshotIsolation;
  }

  /** Flyway location of this dialect's migrations. */
  String migrations() {
    return migrations;
  }

  /** An isolation level under which all reads of a transaction see one snapshot. */
  int snapshotIsolation() {
    return snapshotIsolation;
  }

  /** Inserts or replaces assertions. Parameters: store_id, model_id, assertions_json. */
  abstract String upsertAssertions();
}
