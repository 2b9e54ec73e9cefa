-- Small JSON documents kept beside the tuples: role names and descriptions, RBAC bookkeeping.
-- The tuples stay the source of every decision; these only describe.
CREATE TABLE documents (
  kind       VARCHAR(64)  NOT NULL,
  doc_key    VARCHAR(256) NOT NULL,
  body       CHARACTER LARGE OBJECT NOT NULL,
  updated_at TIMESTAMP(6) WITH TIME ZONE NOT NULL,
  PRIMARY KEY (kind, doc_key)
);
