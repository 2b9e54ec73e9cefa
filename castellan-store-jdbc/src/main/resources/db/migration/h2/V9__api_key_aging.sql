-- API keys that age (issue 16 point 8): an optional expiry, the last rotation (the replaced
-- secret's hash, accepted until its grace ends) and the last use, written lazily by the servers.
-- Every column may be NULL, which keeps a key made before this version as it was: no expiry,
-- never rotated, no recorded use.
ALTER TABLE api_keys ADD COLUMN expires_at TIMESTAMP(6) WITH TIME ZONE;
ALTER TABLE api_keys ADD COLUMN rotated_at TIMESTAMP(6) WITH TIME ZONE;
ALTER TABLE api_keys ADD COLUMN previous_secret_hash VARCHAR(128);
ALTER TABLE api_keys ADD COLUMN grace_ends_at TIMESTAMP(6) WITH TIME ZONE;
ALTER TABLE api_keys ADD COLUMN last_used_at TIMESTAMP(6) WITH TIME ZONE;
