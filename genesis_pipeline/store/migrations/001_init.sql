-- Genesis store, first version. Every table keys on project_id so a project reads in one sweep.

CREATE SEQUENCE IF NOT EXISTS seq_projects START 1;
CREATE SEQUENCE IF NOT EXISTS seq_media START 1;
CREATE SEQUENCE IF NOT EXISTS seq_runs START 1;
CREATE SEQUENCE IF NOT EXISTS seq_transcripts START 1;
CREATE SEQUENCE IF NOT EXISTS seq_scenes START 1;
CREATE SEQUENCE IF NOT EXISTS seq_chapter_rules START 1;
CREATE SEQUENCE IF NOT EXISTS seq_chapters START 1;
CREATE SEQUENCE IF NOT EXISTS seq_voiceovers START 1;
CREATE SEQUENCE IF NOT EXISTS seq_renders START 1;

CREATE TABLE projects (
    id          BIGINT PRIMARY KEY DEFAULT nextval('seq_projects'),
    name        VARCHAR NOT NULL,
    created_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    -- Bumped by every write that changes what a page shows; UIs key their caches on it.
    revision    BIGINT NOT NULL DEFAULT 0,
    -- Narration mix settings and other per-project knobs, as JSON.
    settings_json JSON NOT NULL DEFAULT '{}'
);

CREATE TABLE uploads (
    id            VARCHAR PRIMARY KEY,
    project_id    BIGINT NOT NULL,
    token_sha256  VARCHAR NOT NULL,
    original_name VARCHAR NOT NULL,
    target_path   VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    expires_at    TIMESTAMP NOT NULL,
    used_at       TIMESTAMP,
    status        VARCHAR NOT NULL DEFAULT 'issued',   -- issued | finalized | rejected | expired
    media_id      BIGINT,
    error         VARCHAR
);

CREATE TABLE media_files (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_media'),
    project_id    BIGINT NOT NULL,
    position      INTEGER NOT NULL,          -- project order
    original_name VARCHAR NOT NULL,          -- as the user named it (metadata only)
    stored_name   VARCHAR NOT NULL,          -- sanitised name used on disk
    path          VARCHAR NOT NULL,          -- absolute path of the bytes
    imported      BOOLEAN NOT NULL DEFAULT false,  -- registered in place from GENESIS_IMPORT_DIR
    sha256        VARCHAR NOT NULL,
    size_bytes    BIGINT NOT NULL,
    kind          VARCHAR NOT NULL,          -- video | audio
    duration_s    DOUBLE NOT NULL,
    width         INTEGER,
    height        INTEGER,
    fps           DOUBLE,
    is_vfr        BOOLEAN,
    rotation      INTEGER,
    frame_count   BIGINT,
    video_codec   VARCHAR,
    audio_codec   VARCHAR,
    has_audio     BOOLEAN NOT NULL,
    has_video     BOOLEAN NOT NULL,
    probe_json    JSON NOT NULL,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    UNIQUE (project_id, sha256)
);

CREATE TABLE runs (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_runs'),
    project_id    BIGINT NOT NULL,
    status        VARCHAR NOT NULL,          -- running | succeeded | failed
    started_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    ended_at      TIMESTAMP,
    pid           INTEGER,
    host          VARCHAR,
    options_json  JSON NOT NULL DEFAULT '{}',
    device_json   JSON NOT NULL DEFAULT '{}',
    step_details  JSON NOT NULL DEFAULT '[]',
    progress_json JSON NOT NULL DEFAULT '{}',
    error         VARCHAR
);

CREATE TABLE transcripts (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_transcripts'),
    project_id    BIGINT NOT NULL,
    media_id      BIGINT NOT NULL UNIQUE,
    run_id        BIGINT,
    cache_key     VARCHAR NOT NULL,
    language      VARCHAR NOT NULL,
    language_probability DOUBLE,
    model         VARCHAR NOT NULL,
    text          VARCHAR NOT NULL,
    duration_s    DOUBLE,
    segments_json JSON NOT NULL,
    params_json   JSON NOT NULL,
    artifact_path VARCHAR NOT NULL,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE transcript_words (
    transcript_id BIGINT NOT NULL,
    project_id    BIGINT NOT NULL,
    media_id      BIGINT NOT NULL,
    idx           INTEGER NOT NULL,
    word          VARCHAR NOT NULL,
    start_s       DOUBLE NOT NULL,
    end_s         DOUBLE NOT NULL,
    probability   DOUBLE NOT NULL,
    segment_idx   INTEGER NOT NULL,
    PRIMARY KEY (transcript_id, idx)
);

CREATE TABLE scenes (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_scenes'),
    project_id    BIGINT NOT NULL,
    media_id      BIGINT NOT NULL,
    idx           INTEGER NOT NULL,
    start_frame   BIGINT NOT NULL,
    end_frame     BIGINT NOT NULL,
    start_s       DOUBLE NOT NULL,
    end_s         DOUBLE NOT NULL,
    preview_path  VARCHAR,
    cache_key     VARCHAR NOT NULL,
    -- captions, caption confidence, detection score/confidence, preview paths, transcript confidence
    metadata_json JSON NOT NULL DEFAULT '{}',
    UNIQUE (media_id, idx)
);

CREATE TABLE chapter_rules (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_chapter_rules'),
    project_id    BIGINT NOT NULL,
    version       INTEGER NOT NULL,
    rules_json    JSON NOT NULL,
    note          VARCHAR,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    UNIQUE (project_id, version)
);

CREATE TABLE chapters (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_chapters'),
    project_id    BIGINT NOT NULL,
    rules_version INTEGER NOT NULL,
    idx           INTEGER NOT NULL,
    title         VARCHAR NOT NULL,
    title_edited  BOOLEAN NOT NULL DEFAULT false,
    start_s       DOUBLE NOT NULL,
    end_s         DOUBLE NOT NULL,
    reasons_json  JSON NOT NULL DEFAULT '[]',
    cache_key     VARCHAR NOT NULL,
    UNIQUE (project_id, idx)
);

CREATE TABLE scene_chapters (
    scene_id      BIGINT PRIMARY KEY,
    chapter_id    BIGINT NOT NULL,
    project_id    BIGINT NOT NULL
);

-- Reviews key on (media, first frame), not scene id, so they survive a re-detection that keeps the cut.
CREATE TABLE scene_reviews (
    project_id    BIGINT NOT NULL,
    media_id      BIGINT NOT NULL,
    start_frame   BIGINT NOT NULL,
    status        VARCHAR NOT NULL,          -- approved | rejected
    reviewer      VARCHAR,
    note          VARCHAR,
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (media_id, start_frame)
);

-- Edited chapter titles key on the chapter's first scene so they survive re-chaptering.
CREATE TABLE chapter_titles (
    project_id    BIGINT NOT NULL,
    media_id      BIGINT NOT NULL,
    start_frame   BIGINT NOT NULL,
    title         VARCHAR NOT NULL,
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (media_id, start_frame)
);

CREATE TABLE voiceovers (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_voiceovers'),
    project_id    BIGINT NOT NULL,
    chapter_idx   INTEGER,                   -- NULL: one voiceover for the whole cut
    original_name VARCHAR NOT NULL,
    path          VARCHAR NOT NULL,
    sha256        VARCHAR NOT NULL,
    duration_s    DOUBLE NOT NULL,
    offset_s      DOUBLE,                    -- NULL: automatic (per-chapter) or 0 (whole cut)
    gain          DOUBLE NOT NULL DEFAULT 1.0,
    active        BOOLEAN NOT NULL DEFAULT true,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE renders (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_renders'),
    project_id    BIGINT NOT NULL,
    run_id        BIGINT,
    path          VARCHAR NOT NULL,
    cache_key     VARCHAR NOT NULL,
    duration_s    DOUBLE NOT NULL,
    size_bytes    BIGINT NOT NULL,
    settings_json JSON NOT NULL,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE INDEX idx_media_project ON media_files(project_id);
CREATE INDEX idx_runs_project ON runs(project_id);
CREATE INDEX idx_words_media ON transcript_words(media_id);
CREATE INDEX idx_scenes_project ON scenes(project_id);
CREATE INDEX idx_chapters_project ON chapters(project_id);
CREATE INDEX idx_reviews_project ON scene_reviews(project_id);
CREATE INDEX idx_renders_project ON renders(project_id);
