-- Castellan schema for the embedded H2 database (same shape as the PostgreSQL one).

CREATE TABLE stores (
    id          VARCHAR(26)   PRIMARY KEY,
    name        VARCHAR(1024) NOT NULL,
    revision    BIGINT        NOT NULL DEFAULT 0,
    created_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
    updated_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
    deleted_at  TIMESTAMP(6) WITH TIME ZONE NULL
);

CREATE TABLE authorization_models (
    store_id    VARCHAR(26) NOT NULL,
    id          VARCHAR(26) NOT NULL,
    model_json  CHARACTER LARGE OBJECT NOT NULL,
    created_at  TIMESTAMP(6) WITH TIME ZONE NOT NULL,
    PRIMARY KEY (store_id, id)
);

CREATE TABLE tuples (
    store_id          VARCHAR(26)   NOT NULL,
    object_type       VARCHAR(254)  NOT NULL,
    object_id         VARCHAR(512)  NOT NULL,
    relation          VARCHAR(254)  NOT NULL,
    user_key          VARCHAR(1024) NOT NULL,
    condition_name    VARCHAR(254)  NOT NULL DEFAULT '',
    condition_context VARCHAR(1000000) NULL,
    expires_at        TIMESTAMP(6) WITH TIME ZONE NULL,
    revision          BIGINT        NOT NULL,
    written_at        TIMESTAMP(6) WITH TIME ZONE NOT NULL,
    PRIMARY KEY (store_id, object_type, object_id, relation, user_key)
);

CREATE INDEX tuples_by_user ON tuples (store_id, user_key);
CREATE INDEX tuples_expiring ON tuples (store_id, expires_at);

CREATE TABLE changelog (
    store_id          VARCHAR(26)   NOT NULL,
    revision          BIGINT        NOT NULL,
    seq               INTEGER       NOT NULL,
    operation         SMALLINT      NOT NULL, -- 0 write, 1 delete
    object_type       VARCHAR(254)  NOT NULL,
    object_id         VARCHAR(512)  NOT NULL,
    relation          VARCHAR(254)  NOT NULL,
    user_key          VARCHAR(1024) NOT NULL,
    condition_name    VARCHAR(254)  NOT NULL DEFAULT '',
    condition_context VARCHAR(1000000) NULL,
    expires_at        TIMESTAMP(6) WITH TIME ZONE NULL,
    created_at        TIMESTAMP(6) WITH TIME ZONE NOT NULL,
    PRIMARY KEY (store_id, revision, seq)
);

CREATE TABLE assertions (
    store_id        VARCHAR(26) NOT NULL,
    model_id        VARCHAR(26) NOT NULL,
    assertions_json CHARACTER LARGE OBJECT NOT NULL,
    PRIMARY KEY (store_id, model_id)
);
