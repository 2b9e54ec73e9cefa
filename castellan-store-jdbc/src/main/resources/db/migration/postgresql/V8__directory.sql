-- The node's user directory (issue 16): users and groups as SCIM provisions them, membership, and
-- the identities linked to each user. Absent optional values are empty strings, so a comparison
-- in a filter needs no NULL cases. The *_lower columns hold the values as the store compares them
-- (lower-cased in Java with the root locale), so every database and the in-memory store agree.
CREATE TABLE directory_users (
  id                 VARCHAR(26)  NOT NULL PRIMARY KEY,
  user_name          VARCHAR(256) NOT NULL,
  user_name_lower    VARCHAR(256) NOT NULL,
  external_id        VARCHAR(256) NOT NULL,
  display_name       VARCHAR(256) NOT NULL,
  display_name_lower VARCHAR(256) NOT NULL,
  active             BOOLEAN      NOT NULL,
  resource           text NOT NULL,
  version            BIGINT       NOT NULL,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL,
  CONSTRAINT directory_users_user_name UNIQUE (user_name_lower)
);
CREATE INDEX directory_users_external_id ON directory_users (external_id);

CREATE TABLE directory_user_emails (
  user_id     VARCHAR(26)  NOT NULL REFERENCES directory_users (id) ON DELETE CASCADE,
  ordinal     INTEGER      NOT NULL,
  email       VARCHAR(320) NOT NULL,
  email_lower VARCHAR(320) NOT NULL,
  PRIMARY KEY (user_id, ordinal)
);
CREATE INDEX directory_user_emails_lower ON directory_user_emails (email_lower);

CREATE TABLE directory_groups (
  id                 VARCHAR(26)  NOT NULL PRIMARY KEY,
  display_name       VARCHAR(256) NOT NULL,
  display_name_lower VARCHAR(256) NOT NULL,
  external_id        VARCHAR(256) NOT NULL,
  version            BIGINT       NOT NULL,
  created_at         timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL
);

CREATE TABLE directory_members (
  group_id VARCHAR(26) NOT NULL REFERENCES directory_groups (id) ON DELETE CASCADE,
  user_id  VARCHAR(26) NOT NULL REFERENCES directory_users (id) ON DELETE CASCADE,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX directory_members_user ON directory_members (user_id, group_id);

CREATE TABLE directory_identities (
  kind      VARCHAR(64)  NOT NULL,
  namespace VARCHAR(512) NOT NULL,
  identity_value VARCHAR(512) NOT NULL,
  user_id   VARCHAR(26)  NOT NULL REFERENCES directory_users (id) ON DELETE CASCADE,
  PRIMARY KEY (kind, namespace, identity_value)
);
CREATE INDEX directory_identities_user ON directory_identities (user_id);
