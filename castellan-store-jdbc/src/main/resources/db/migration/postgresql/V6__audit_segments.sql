-- The audit trail in segments: a row per batch the writer appends, holding the batch's records
-- as JSON lines in UTF-8 (see AuditLines, ADR 0009). A row per entry cost more to store than the
-- decision it records cost to make. V7 moves the rows of audit_log here and drops that table.
CREATE TABLE audit_segment (
    first_seq bigint      PRIMARY KEY,
    last_seq  bigint      NOT NULL,
    min_time  timestamptz NOT NULL, -- the span of the entries' times, which a read by time
    max_time  timestamptz NOT NULL, -- uses to skip segments
    entries   bytea       NOT NULL
);
-- Stored out of line but not compressed: compressing every batch cost more CPU than the
-- decisions in it.
ALTER TABLE audit_segment ALTER COLUMN entries SET STORAGE EXTERNAL;

-- One row per entry, for reading the trail in SQL: SELECT line::jsonb ->> 'subject' ...
-- (castellan audit verify, not this view, is what checks it).
CREATE VIEW audit_entries AS
SELECT substring(line FROM '^\{"seq":(\d+),')::bigint AS seq, line
FROM audit_segment,
     LATERAL regexp_split_to_table(rtrim(convert_from(entries, 'UTF8'), E'\n'), E'\n') AS line;
