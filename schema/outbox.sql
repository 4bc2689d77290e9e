-- SQLite schema of the durable outbox (var/state/outbox.sqlite), version 1.
--
-- What only this service knows: every webhook event that the provider was
-- told "200" for, and every reconciliation the engine learned from the
-- provider, until it has been applied to PostgreSQL or given up on. Unlike
-- the cache, this file is never deleted, set aside or recreated by a
-- worker; it is written with synchronous=FULL, so that an event is on disk
-- before the provider hears "accepted". Compiled into the library; the
-- engine (video-complete --engine or --drain) creates the file, request
-- workers only open it.

CREATE TABLE IF NOT EXISTS events (
	webhook_id	TEXT PRIMARY KEY,	-- the provider's, or reconcile-...
	prediction_id	TEXT NOT NULL,
	status		TEXT NOT NULL,		-- as the provider sent it
	output_url	TEXT,			-- the provider's file
	error		TEXT,			-- the provider's text, valid UTF-8
	video_url	TEXT,			-- our copy, once made
	received_at	INTEGER NOT NULL,	-- unix seconds
	attempts	INTEGER NOT NULL DEFAULT 0,	-- failures that count
	next_try_at	INTEGER NOT NULL,	-- also a claim's lease
	last_error	TEXT,			-- why the last try did not finish
	done_at		INTEGER,		-- applied (kept a day, for repeats)
	dead_at		INTEGER			-- given up: kept until retried
);
CREATE INDEX IF NOT EXISTS events_due ON events (next_try_at)
	WHERE done_at IS NULL AND dead_at IS NULL;

PRAGMA user_version = 1;
