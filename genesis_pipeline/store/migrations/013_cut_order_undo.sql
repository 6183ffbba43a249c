-- The cut order's undo log: one row per reviewer action on the order (a scene moved, a chapter
-- moved, the order reset) with every stored place of the project as it was before the action.
-- Undoing the newest standing action puts those places back. Positions are keyed like cut_order
-- on a scene's (media, first frame), so an undo survives a re-detection that keeps the scenes.

CREATE SEQUENCE IF NOT EXISTS seq_cut_order_actions START 1;

CREATE TABLE cut_order_actions (
    id            BIGINT PRIMARY KEY DEFAULT nextval('seq_cut_order_actions'),
    project_id    BIGINT NOT NULL,
    action        VARCHAR NOT NULL,          -- move_scene | move_chapter | reset
    label         VARCHAR NOT NULL,          -- what it did, in words ("Moved scene 3 of a.mp4 earlier")
    actor         VARCHAR NOT NULL,          -- who, as the audit log names them (user:rita)
    before_json   VARCHAR NOT NULL,          -- [[kind, media_id, start_frame, position], ...]
    created_at    TIMESTAMP NOT NULL DEFAULT current_timestamp,
    undone_at     TIMESTAMP                  -- NULL while the action stands
);

CREATE INDEX idx_cut_order_actions_project ON cut_order_actions(project_id);
