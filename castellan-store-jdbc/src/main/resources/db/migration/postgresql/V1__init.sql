-- Castellan schema for PostgreSQL. Text keys use the "C" collation so that ordering (and paging
-- by key) is byte order, whatever the database's default collation.

CREATE TABLE stores (
    id          varchar(26)  COLLATE "C" PRIMARY KEY,
    name        varchar(1024) NOT NULL,
    revision    bigint       NOT NULL DEFAULT 0,
    created_at  timestamptz  NOT NULL,
    updated_at  timestamptz  NOT NULL,
    deleted_at  timestamptz  NULL
);

CREATE TABLE authorization_models (
    store_id    varchar(26) COLLATE "C" NOT NULL,
    id          varchar(26) COLLATE "C" NOT NULL,
    model_json  text        NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (store_id, id)
);

CREATE TABLE tuples (
    store_id          varchar(26)   COLLATE "C" NOT NULL,
    object_type       varchar(254)  COLLATE "C" NOT NULL,
    object_id         varchar(512)  COLLATE "C" NOT NULL,
    relation          varchar(254)  COLLATE "C" NOT NULL,
    user_key          varchar(1024) COLLATE "C" NOT NULL,
    condition_name    varchar(254)  NOT NULL DEFAULT '',
    condition_context text          NULL,
    expires_at        timestamptz   NULL,
    revision          bigint        NOT NULL,
    written_at        timestamptz   NOT NULL,
    PRIMARY KEY (store_id, object_type, object_id, relation, user_key)
);

CREATE INDEX tuples_by_user ON tuples (store_id, user_key);
CREATE INDEX tuples_expiring ON tuples (store_id, expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE changelog (
    store_id          varchar(26)   COLLATE "C" NOT NULL,
    revision          bigint        NOT NULL,
    seq               integer       NOT NULL,
    operation         smallint      NOT NULL, -- 0 write, 1 delete
    object_type       varchar(254)  COLLATE "C" NOT NULL,
    object_id         varchar(512)  COLLATE "C" NOT NULL,
    relation          varchar(254)  COLLATE "C" NOT NULL,
    user_key          varchar(1024) COLLATE "C" NOT NULL,
    condition_name    varchar(254)  NOT NULL DEFAULT '',
    condition_context text          NULL,
    expires_at        timestamptz   NULL,
    created_at        timestamptz   NOT NULL,
    PRIMARY KEY (store_id, revision, seq)
);

CREATE TABLE assertions (
    store_id        varchar(26) COLLATE "C" NOT NULL,
    model_id        varchar(26) COLLATE "C" NOT NULL,
    assertions_json text        NOT NULL,
    PRIMARY KEY (store_id, model_id)
);
