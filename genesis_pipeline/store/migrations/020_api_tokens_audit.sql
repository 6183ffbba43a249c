-- API tokens (genesis token create) and the audit log every write through a front end appends to.
-- A token's secret is shown once; only its sha256 is kept. A revoked token keeps its row (the
-- audit log names it). The audit log is generic: ``actor`` is "token:<name>" for the HTTP API,
-- "cli:<user>" for the command line, and later "user:<name>" for the app's sign-in.

CREATE SEQUENCE IF NOT EXISTS seq_api_tokens START 1;
CREATE SEQUENCE IF NOT EXISTS seq_audit_log START 1;

CREATE TABLE api_tokens (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_api_tokens'),
    name          VARCHAR NOT NULL,
    role          VARCHAR NOT NULL,          -- viewer | reviewer | admin
    token_sha256  VARCHAR NOT NULL UNIQUE,
    prefix        VARCHAR NOT NULL,          -- the secret's first characters, to tell tokens apart
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    revoked_at    TIMESTAMP
);

CREATE TABLE audit_log (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_audit_log'),
    happened_at   TIMESTAMP NOT NULL DEFAULT current_timestamp,
    actor         VARCHAR NOT NULL,          -- token:<name> | cli:<user> | user:<name>
    action        VARCHAR NOT NULL,          -- e.g. scenes.review, runs.start, tokens.revoke
    project_id    BIGINT,
    details_json  JSON NOT NULL DEFAULT '{}'
);

CREATE INDEX idx_audit_project ON audit_log(project_id);
