-- SQLite schema of the shared cache (var/cache/cache.sqlite), version 2.
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

-- Active generation jobs (starting, processing), so that polls are answered
-- without PostgreSQL.
CREATE TABLE IF NOT EXISTS jobs (
	persona_id	TEXT PRIMARY KEY,
	user_id		TEXT NOT NULL,
	job_id		TEXT NOT NULL,
	prediction_id	TEXT,
	status		TEXT NOT NULL,
	updated_at	INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS jobs_prediction ON jobs (prediction_id);

-- The webhook outbox: every accepted delivery, written and fsynced before
-- the provider gets its 200, then applied (cache first, PostgreSQL next)
-- by whichever video-complete worker claims it. Rows are kept a day after
-- they are done, so that a repeated delivery (same webhook-id) is a no-op.
CREATE TABLE IF NOT EXISTS outbox (
	webhook_id	TEXT PRIMARY KEY,
	prediction_id	TEXT NOT NULL,
	status		TEXT NOT NULL,		-- as the provider sent it
	output_url	TEXT,			-- the provider's file
	error		TEXT,
	video_url	TEXT,			-- our copy, once made
	received_at	INTEGER NOT NULL,
	attempts	INTEGER NOT NULL DEFAULT 0,
	next_try_at	INTEGER NOT NULL,	-- also a claim's lease
	done_at		INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_due ON outbox (done_at, next_try_at);

PRAGMA user_version = 2;
