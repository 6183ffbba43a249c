-- Playable copies (proxies) of footage a browser cannot play as it is: one row per media file.
-- A row exists only once a proxy was made or making one failed; the file it points at is
-- complete (published by rename). Sources that play as they are have no row.

CREATE TABLE media_proxies (
    media_id      BIGINT PRIMARY KEY,
    project_id    BIGINT NOT NULL,
    cache_key     VARCHAR NOT NULL,          -- stage key: source sha256, proxy params, VERSION
    status        VARCHAR NOT NULL,          -- ready | failed
    path          VARCHAR,                   -- the playable copy (relative to the data dir)
    reason        VARCHAR NOT NULL,          -- why the source itself does not play in browsers
    error         VARCHAR,                   -- why no copy could be made (status failed)
    size_bytes    BIGINT,
    duration_s    DOUBLE,
    encode_s      DOUBLE,
    metadata_json JSON NOT NULL DEFAULT '{}', -- the Proxy result: kind, size, codecs, params
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE INDEX idx_proxies_project ON media_proxies(project_id);
