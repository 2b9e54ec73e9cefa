-- Tuples held for people the directory does not know yet (ADR 0024): an import names a person by
-- an identity (kind, namespace, value: an email, a Slack id), and the row waits here until a
-- directory user has that identity; then it is written as a tuple of that user and deleted, in one
-- transaction. Identity columns compare bytewise, as Java compares strings, so every database and
-- the in-memory store list identities in one order.
CREATE TABLE pending_tuples (
  id                VARCHAR(26)  NOT NULL PRIMARY KEY,
  store_id          VARCHAR(26)  NOT NULL,
  object            VARCHAR(767) NOT NULL,
  relation          VARCHAR(254) NOT NULL,
  condition_name    VARCHAR(254) NOT NULL,
  condition_context text,
  kind              VARCHAR(64) COLLATE "C"  NOT NULL,
  namespace         VARCHAR(512) COLLATE "C" NOT NULL,
  identity_value    VARCHAR(512) COLLATE "C" NOT NULL,
  source            VARCHAR(64)  NOT NULL,
  held_at           TIMESTAMP(6) WITH TIME ZONE NOT NULL,
  CONSTRAINT pending_tuples_key UNIQUE (store_id, kind, namespace, identity_value, object, relation)
);
CREATE INDEX pending_tuples_identity ON pending_tuples (kind, namespace, identity_value, store_id);
CREATE INDEX pending_tuples_store ON pending_tuples (store_id, id);
CREATE INDEX pending_tuples_source ON pending_tuples (store_id, source);

-- The rows each store holds, kept with them: its row lock orders the transactions that add and
-- claim a store's rows, so the per-store limit holds under concurrent imports.
CREATE TABLE pending_counts (
  store_id VARCHAR(26) NOT NULL PRIMARY KEY,
  held     BIGINT      NOT NULL
);
