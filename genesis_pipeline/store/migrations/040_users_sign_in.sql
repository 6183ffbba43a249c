-- Local accounts for the app's sign-in form (genesis user add) and failed sign-in attempts.
-- A password is never stored: ``password_hash`` is an argon2id hash (salted, slow), which
-- carries its own parameters. A removed user loses the row; the audit log keeps the name.
-- ``sign_in_failures`` persists failed attempts so a restart does not reset the rate limit:
-- ``subject`` is "user:<name>" or "client:<address>".

CREATE SEQUENCE IF NOT EXISTS seq_users START 1;

CREATE TABLE users (
    id                   BIGINT PRIMARY KEY DEFAULT nextval('seq_users'),
    name                 VARCHAR NOT NULL UNIQUE,
    role                 VARCHAR NOT NULL,          -- viewer | reviewer | admin
    password_hash        VARCHAR NOT NULL,          -- argon2id, e.g. $argon2id$v=19$m=65536,...
    created_at           TIMESTAMP NOT NULL DEFAULT current_timestamp,
    password_changed_at  TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE sign_in_failures (
    subject       VARCHAR NOT NULL,
    failed_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE INDEX idx_sign_in_failures ON sign_in_failures(subject, failed_at);
