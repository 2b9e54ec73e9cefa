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

    @Override
    String upsertDocument() {
      return "INSERT INTO documents (kind, doc_key, body, updated_at) VALUES (?, ?, ?, ?)"
          + " ON CONFLICT (kind, doc_key)"
          + " DO UPDATE SET body = EXCLUDED.body, updated_at = EXCLUDED.updated_at";
    }

    @Override
    String insertDocumentIfAbsent() {
      return "INSERT INTO documents (kind, doc_key, body, updated_at) VALUES (?, ?, ?, ?)"
          + " ON CONFLICT (kind, doc_key) DO NOTHING";
    }
  },
  H2("classpath:db/migration/h2", 6 /* org.h2.engine.Constants.TRANSACTION_SNAPSHOT */) {
    @Override
    String upsertAssertions() {
      return "MERGE INTO assertions (store_id, model_id, assertions_json) KEY (store_id, model_id)"
          + " VALUES (?, ?, ?)";
    }

    @Override
    String upsertDocument() {
      return "MERGE INTO documents (kind, doc_key, body, updated_at) KEY (kind, doc_key)"
          + " VALUES (?, ?, ?, ?)";
    }

    @Override
    String insertDocumentIfAbsent() {
      // Single process: the NOT EXISTS guard is enough; a racing insert fails on the key.
      return "INSERT INTO documents (kind, doc_key, body, updated_at)"
          + " SELECT ?1, ?2, ?3, ?4 FROM DUAL WHERE NOT EXISTS"
          + " (SELECT 1 FROM documents WHERE kind = ?1 AND doc_key = ?2)";
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

  abstract String upsertDocument();

  /** Inserts a document unless one with the same key exists; the update count says which. */
  abstract String insertDocumentIfAbsent();
}
