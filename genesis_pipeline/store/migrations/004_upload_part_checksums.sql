-- The sha256 of each part of a multipart upload, as its client announced them (comma-separated
-- hex, in part order; optional): each presigned part URL is signed with its part's checksum, and
-- finalize refuses an object whose parts' checksums are not these.
ALTER TABLE uploads ADD COLUMN expected_part_sha256 VARCHAR;
