-- Reviewers' trims: a scene's in and out points within its source, in frames [in, out), keyed
-- like scene_reviews on the scene's (media, first frame) so a re-run that keeps the scene keeps
-- its trim. The cut (render, chapters on the cut, exports) plays the trimmed range.

CREATE TABLE scene_trims (
    project_id    BIGINT NOT NULL,
    media_id      BIGINT NOT NULL,
    start_frame   BIGINT NOT NULL,
    in_frame      BIGINT NOT NULL,
    out_frame     BIGINT NOT NULL,
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (media_id, start_frame)
);

CREATE INDEX idx_trims_project ON scene_trims(project_id);
