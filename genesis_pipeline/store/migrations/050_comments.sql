-- Timecoded comments (#18): on a scene, on a chapter, or on a time range of the cut, in threads.
-- A scene comment is keyed like scene_reviews on the scene's (media, first frame), so a
-- re-detection that keeps the scene keeps its comments; a chapter comment on its first scene's
-- key, like chapter_titles. A comment whose scene or chapter is gone keeps its row (shown as
-- orphaned). A reply's parent_id is its thread's first comment; resolved_* is kept on that one.

CREATE SEQUENCE IF NOT EXISTS seq_comments START 1;

CREATE TABLE comments (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_comments'),
    project_id    BIGINT NOT NULL,
    parent_id     BIGINT,                    -- NULL: starts a thread
    target        VARCHAR NOT NULL,          -- scene | chapter | cut
    media_id      BIGINT,                    -- scene, chapter: the (first) scene's key
    start_frame   BIGINT,
    start_s       DOUBLE,                    -- scene: seconds into its source; cut: on the cut
    end_s         DOUBLE,                    -- cut: the range's end (NULL: a point)
    render_id     BIGINT,                    -- cut: the render it was written on, if any
    author        VARCHAR NOT NULL,          -- the actor's label, as the audit log has it
    body          VARCHAR NOT NULL,
    mentions_json JSON NOT NULL DEFAULT '[]',
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    edited_at     TIMESTAMP,
    resolved_at   TIMESTAMP,
    resolved_by   VARCHAR
);

CREATE INDEX idx_comments_project ON comments(project_id);
