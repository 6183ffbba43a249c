-- Words whose timing may be well off (the transcribe stage's measured rule, #17): the
-- Transcript page and the subtitle exporter can mark them. Words stored before read as certain.

ALTER TABLE transcript_words ADD COLUMN timing_uncertain BOOLEAN DEFAULT false;
