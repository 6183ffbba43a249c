-- Reviewers' order of the cut: where a scene goes within its chapter ('scene') and where a
-- chapter goes among the chapters ('chapter', keyed on its first scene), keyed like
-- scene_reviews on a scene's (media, first frame) so a re-run that keeps the scenes keeps the
-- order. Rows exist only once a reviewer moved something; everything else keeps source order.

CREATE TABLE cut_order (
    project_id    BIGINT NOT NULL,
    kind          VARCHAR NOT NULL,          -- scene | chapter
    media_id      BIGINT NOT NULL,
    start_frame   BIGINT NOT NULL,
    position      BIGINT NOT NULL,
    updated_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (project_id, kind, media_id, start_frame)
);
