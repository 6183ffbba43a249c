-- What the client announced for an upload (optional): finalize refuses bytes of another size or
-- sha256, and with S3 the presigned PUT is signed with them (S3 itself refuses another body).
ALTER TABLE uploads ADD COLUMN expected_size BIGINT;
ALTER TABLE uploads ADD COLUMN expected_sha256 VARCHAR;
