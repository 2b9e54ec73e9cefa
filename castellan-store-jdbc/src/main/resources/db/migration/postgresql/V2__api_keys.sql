-- API keys: only the SHA-256 of the secret part is kept.
CREATE TABLE api_keys (
  id          VARCHAR(64)  NOT NULL PRIMARY KEY,
  name        VARCHAR(128) NOT NULL,
  principal   VARCHAR(256) NOT NULL,
  secret_hash VARCHAR(128) NOT NULL,
  created_at  timestamptz  NOT NULL
);
