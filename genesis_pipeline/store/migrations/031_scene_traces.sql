-- The scene detector's score on every frame of a media file (#17): the file the scene stage
-- writes beside its previews (stages/scenes/trace.py, a compressed .npz of float32 series),
-- kept with the scenes it made (same cache key) for the Confidence page's timeline.

CREATE TABLE scene_traces (
    project_id    BIGINT NOT NULL,
    media_id      BIGINT NOT NULL,
    cache_key     VARCHAR NOT NULL,
    detector      VARCHAR NOT NULL,
    frames        BIGINT NOT NULL,
    trace         BLOB NOT NULL,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE INDEX idx_scene_traces_media ON scene_traces(media_id);
