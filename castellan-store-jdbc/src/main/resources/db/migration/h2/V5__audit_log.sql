-- The audit trail: one hash chain per database (see AuditRecord). audit_head holds the chain's
-- ends; appends lock its one row, so nodes sharing the database append one after another.
CREATE TABLE audit_log (
    seq            bigint      PRIMARY KEY,
    event_time     TIMESTAMP(6) WITH TIME ZONE NOT NULL,
    kind           VARCHAR        NOT NULL,
    api            VARCHAR        NOT NULL,
    caller         VARCHAR        NOT NULL,
    subject        VARCHAR        NOT NULL,
    roles          VARCHAR        NOT NULL, -- a JSON array of strings
    action         VARCHAR        NOT NULL,
    resource       VARCHAR        NOT NULL,
    outcome        VARCHAR        NOT NULL,
    reason         VARCHAR        NOT NULL,
    store_id       VARCHAR        NOT NULL,
    revision       bigint      NOT NULL,
    request_id     VARCHAR        NOT NULL,
    client_address VARCHAR        NOT NULL,
    previous_hash  char(64)    NOT NULL,
    hash           char(64)    NOT NULL
);

CREATE INDEX audit_log_by_time ON audit_log (event_time);
-- No index by subject here, unlike PostgreSQL: each index costs the embedded server's own CPU on
-- every entry, and the embedded store serves smaller trails, where a scan is quick enough.

CREATE TABLE audit_head (
    id          integer  PRIMARY KEY,
    first_seq   bigint   NOT NULL,
    anchor_hash char(64) NOT NULL,
    last_seq    bigint   NOT NULL,
    last_hash   char(64) NOT NULL
);

INSERT INTO audit_head (id, first_seq, anchor_hash, last_seq, last_hash) VALUES
    (1, 1, '0000000000000000000000000000000000000000000000000000000000000000',
     0, '0000000000000000000000000000000000000000000000000000000000000000');
