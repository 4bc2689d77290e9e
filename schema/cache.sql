-- SQLite schema of the shared cache (var/cache/cache.sqlite), version 3.
--
-- Every worker applies it when it opens the file (it is compiled into the
-- library), and scripts/stack applies it once at start-up: both are
-- idempotent. The cache only ever holds copies of what PostgreSQL says, so a
-- broken file may be deleted and recreated at any time.

-- Completed idle videos with their owner. Video URLs are immutable, so a
-- row never goes stale.
CREATE TABLE IF NOT EXISTS videos (
	persona_id	TEXT PRIMARY KEY,	-- uuid, canonical lower case
	user_id		TEXT NOT NULL,		-- the owner, for the BOLA check
	video_url	TEXT NOT NULL,
	cached_at	INTEGER NOT NULL	-- unix seconds
) WITHOUT ROWID;

-- Sessions, by SHA-256 of the token, with a short lifetime.
CREATE TABLE IF NOT EXISTS sessions (
	token_hash	BLOB PRIMARY KEY,	-- 32 bytes
	user_id		TEXT NOT NULL,
	expires_at	INTEGER NOT NULL,	-- the session's own expiry (unix s)
	cached_until	INTEGER NOT NULL	-- when this copy must be re-read
) WITHOUT ROWID;

-- Generation jobs (the latest of each persona), so that polls of an active
-- one are answered without PostgreSQL.
CREATE TABLE IF NOT EXISTS jobs (
	persona_id	TEXT PRIMARY KEY,
	user_id		TEXT NOT NULL,
	job_id		TEXT NOT NULL,
	prediction_id	TEXT,
	status		TEXT NOT NULL,
	updated_at	INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_prediction ON jobs (prediction_id);

-- Version 2 kept the webhook outbox here too; version 3 moved it into a
-- file of its own (schema/outbox.sql), since this one is disposable. The
-- engine moves the pending events of an old outbox table there, then drops
-- the table (lib/outbox.c, outbox_import_legacy).

PRAGMA user_version = 3;
