-- The audit trail: one hash chain per database (see AuditRecord). audit_head holds the chain's
-- ends; appends lock its one row, so nodes sharing the database append one after another.
CREATE TABLE audit_log (
    seq            bigint      PRIMARY KEY,
    event_time     timestamptz NOT NULL,
    kind           text        NOT NULL,
    api            text        NOT NULL,
    caller         text        NOT NULL,
    subject        text        NOT NULL,
    roles          text        NOT NULL, -- a JSON array of strings
    action         text        NOT NULL,
    resource       text        NOT NULL,
    outcome        text        NOT NULL,
    reason         text        NOT NULL,
    store_id       text        NOT NULL,
    revision       bigint      NOT NULL,
    request_id     text        NOT NULL,
    client_address text        NOT NULL,
    previous_hash  char(64)    NOT NULL,
    hash           char(64)    NOT NULL
);

CREATE INDEX audit_log_by_time ON audit_log (event_time);
CREATE INDEX audit_log_by_subject ON audit_log (subject, seq);

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
