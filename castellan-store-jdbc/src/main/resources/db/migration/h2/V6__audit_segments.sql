-- The audit trail in segments: a row per batch the writer appends, holding the batch's records
-- as JSON lines in UTF-8 (see AuditLines, ADR 0009). A row per entry cost more to store than the
-- decision it records cost to make. V7 moves the rows of audit_log here and drops that table.
CREATE TABLE audit_segment (
    first_seq bigint                      PRIMARY KEY,
    last_seq  bigint                      NOT NULL,
    min_time  TIMESTAMP(6) WITH TIME ZONE NOT NULL, -- the span of the entries' times, which a
    max_time  TIMESTAMP(6) WITH TIME ZONE NOT NULL, -- read by time uses to skip segments
    entries   VARBINARY                   NOT NULL
);
