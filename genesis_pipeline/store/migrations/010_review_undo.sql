-- The review undo log: one row per reviewer action (approve, reject, back to unreviewed, one scene
-- or a batch) and, per scene it touched, the decision the scene had before (NULL: unreviewed).
-- Keyed like scene_reviews on (media, first frame), so an undo survives a re-detection that
-- keeps the scene.

CREATE SEQUENCE IF NOT EXISTS seq_review_actions START 1;

CREATE TABLE review_actions (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_review_actions'),
    project_id    BIGINT NOT NULL,
    status        VARCHAR NOT NULL,          -- approved | rejected | unreviewed (what was set)
    scene_count   INTEGER NOT NULL,
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    undone_at     TIMESTAMP                  -- NULL while the action stands
);

CREATE TABLE review_action_scenes (
    action_id      BIGINT NOT NULL,
    media_id       BIGINT NOT NULL,
    start_frame    BIGINT NOT NULL,
    before_status  VARCHAR,                  -- NULL: the scene was unreviewed
    before_reviewer VARCHAR,
    before_note    VARCHAR,
    PRIMARY KEY (action_id, media_id, start_frame)
);

CREATE INDEX idx_review_actions_project ON review_actions(project_id);
