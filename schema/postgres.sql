-- PostgreSQL schema of fcgi-pool-lab, version 2.
--
-- Applied by scripts/stack as the cluster's superuser, idempotently: every
-- statement may run again on an installed database and changes nothing.
-- The workers connect as the unprivileged role "app" (created here): a
-- superuser would take the reserved connection slots and hide exhaustion.

BEGIN;

CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
CREATE EXTENSION IF NOT EXISTS pgcrypto;	-- gen_random_bytes() for seed tokens

-- The request workers' role, and the background engine's (video-complete
-- --engine): the same rights, a name each, so that PostgreSQL's counts of
-- "app" are the requests' alone.
DO $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['app', 'app_engine'] LOOP
		IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
			EXECUTE format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB'
			    ' NOCREATEROLE', r);
		END IF;
		-- Server-side bounds, in addition to the client-side deadlines
		-- of lib/db.c. Set on the role, not in the startup packet, so
		-- that they also hold behind PgBouncer (which refuses unknown
		-- startup parameters).
		EXECUTE format('ALTER ROLE %I SET statement_timeout = %L', r, '5s');
		EXECUTE format('ALTER ROLE %I SET idle_in_transaction_session_timeout = %L',
		    r, '10s');
	END LOOP;
END
$$;

CREATE TABLE IF NOT EXISTS schema_version (
	version		integer PRIMARY KEY,
	applied_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS users (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- Only a SHA-256 hash of each session token is stored.
CREATE TABLE IF NOT EXISTS sessions (
	token_hash	bytea PRIMARY KEY CHECK (length(token_hash) = 32),
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	created_at	timestamptz NOT NULL DEFAULT now(),
	expires_at	timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_user ON sessions (user_id);

CREATE TABLE IF NOT EXISTS personas (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	name		text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
	created_at	timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- Keyset pagination of one user's personas in creation order.
CREATE INDEX IF NOT EXISTS personas_user_order ON personas (user_id, created_at, id);

-- Generation jobs at the video provider, one prediction each.
CREATE TABLE IF NOT EXISTS jobs (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	persona_id	uuid NOT NULL REFERENCES personas (id) ON DELETE CASCADE,
	prediction_id	text UNIQUE,
	status		text NOT NULL CHECK (status IN
			    ('starting', 'processing', 'succeeded', 'failed', 'canceled')),
	error		text,
	created_at	timestamptz NOT NULL DEFAULT clock_timestamp(),
	updated_at	timestamptz NOT NULL DEFAULT clock_timestamp()
);
-- When the engine last asked the provider about a job (reconciliation).
ALTER TABLE jobs ADD COLUMN IF NOT EXISTS checked_at timestamptz;
-- One active job per persona, whichever worker inserts it.
CREATE UNIQUE INDEX IF NOT EXISTS jobs_one_active ON jobs (persona_id)
	WHERE status IN ('starting', 'processing');
CREATE INDEX IF NOT EXISTS jobs_persona_latest ON jobs (persona_id, created_at DESC);

-- Completed idle videos; the URL is ours and permanent.
CREATE TABLE IF NOT EXISTS idle_videos (
	persona_id	uuid PRIMARY KEY REFERENCES personas (id) ON DELETE CASCADE,
	video_url	text NOT NULL,
	job_id		uuid REFERENCES jobs (id) ON DELETE SET NULL,
	created_at	timestamptz NOT NULL DEFAULT now()
);

-- Each persona's completed video URL and latest job, copied by the
-- triggers below in the same transaction from idle_videos (the record of a
-- video: its job, its time) and jobs, so that the two hot reads find them
-- in the persona's own row: no join, no index probe per persona (issue 12:
-- the list of 1000 costs the server 7.7M instructions instead of 10.7M,
-- the idle video 106k instead of 133k). The copy of the latest job is its
-- created_at's: a job's change is copied only onto the row that holds it
-- or an older one, and the row's lock orders two transactions that copy
-- jobs of the same persona (the second sees the first's copy).
ALTER TABLE personas ADD COLUMN IF NOT EXISTS video_url text;
ALTER TABLE personas ADD COLUMN IF NOT EXISTS job_id uuid;
ALTER TABLE personas ADD COLUMN IF NOT EXISTS job_status text;
ALTER TABLE personas ADD COLUMN IF NOT EXISTS job_prediction text;
ALTER TABLE personas ADD COLUMN IF NOT EXISTS job_updated bigint;	-- unix s
ALTER TABLE personas ADD COLUMN IF NOT EXISTS job_created_at timestamptz;

CREATE OR REPLACE FUNCTION idle_videos_copy_url() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP <> 'INSERT' AND (TG_OP = 'DELETE' OR
	    OLD.persona_id IS DISTINCT FROM NEW.persona_id) THEN
		UPDATE public.personas SET video_url = NULL
		 WHERE id = OLD.persona_id AND video_url IS NOT NULL;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		UPDATE public.personas SET video_url = NEW.video_url
		 WHERE id = NEW.persona_id
		   AND video_url IS DISTINCT FROM NEW.video_url;
	END IF;
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS idle_videos_copy_url ON idle_videos;
CREATE TRIGGER idle_videos_copy_url
	AFTER INSERT OR UPDATE OR DELETE ON idle_videos
	FOR EACH ROW EXECUTE FUNCTION idle_videos_copy_url();

CREATE OR REPLACE FUNCTION jobs_copy_latest() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	-- A persona whose copied job is gone (or moved) takes its latest
	-- remaining one, or none.
	IF TG_OP <> 'INSERT' AND (TG_OP = 'DELETE' OR
	    OLD.persona_id IS DISTINCT FROM NEW.persona_id) THEN
		UPDATE public.personas p SET (job_id, job_status, job_prediction,
		    job_updated, job_created_at) = (
			SELECT j.id, j.status, j.prediction_id,
			       floor(extract(epoch FROM j.updated_at))::bigint,
			       j.created_at
			  FROM public.jobs j WHERE j.persona_id = p.id
			 ORDER BY j.created_at DESC LIMIT 1)
		 WHERE p.id = OLD.persona_id AND p.job_id = OLD.id;
	END IF;
	IF TG_OP <> 'DELETE' THEN
		UPDATE public.personas SET job_id = NEW.id,
		       job_status = NEW.status, job_prediction = NEW.prediction_id,
		       job_updated = floor(extract(epoch FROM NEW.updated_at)),
		       job_created_at = NEW.created_at
		 WHERE id = NEW.persona_id
		   AND (job_id = NEW.id OR job_created_at IS NULL OR
			job_created_at < NEW.created_at)
		   AND (job_id, job_status, job_prediction, job_updated,
			job_created_at) IS DISTINCT FROM (NEW.id, NEW.status,
			NEW.prediction_id,
			floor(extract(epoch FROM NEW.updated_at))::bigint,
			NEW.created_at);
	END IF;
	RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS jobs_copy_latest ON jobs;
-- Not on checked_at alone (the engine's reconciliation marks): no copy.
CREATE TRIGGER jobs_copy_latest
	AFTER INSERT OR DELETE OR UPDATE OF persona_id, status, prediction_id,
	    updated_at, created_at ON jobs
	FOR EACH ROW EXECUTE FUNCTION jobs_copy_latest();

-- The copies of an installation that had none (and a repair of any drift).
UPDATE personas p SET video_url = v.video_url FROM idle_videos v
 WHERE v.persona_id = p.id AND p.video_url IS DISTINCT FROM v.video_url;
UPDATE personas p SET video_url = NULL
 WHERE p.video_url IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM idle_videos v WHERE v.persona_id = p.id);
UPDATE personas p SET (job_id, job_status, job_prediction, job_updated,
    job_created_at) = (j.id, j.status, j.prediction_id, j.updated,
    j.created_at)
  FROM personas q
  LEFT JOIN LATERAL (
	SELECT jj.id, jj.status, jj.prediction_id,
	       floor(extract(epoch FROM jj.updated_at))::bigint AS updated,
	       jj.created_at
	  FROM jobs jj WHERE jj.persona_id = q.id
	 ORDER BY jj.created_at DESC LIMIT 1) j ON true
 WHERE q.id = p.id
   AND (p.job_id, p.job_status, p.job_prediction, p.job_updated,
	p.job_created_at) IS DISTINCT FROM (j.id, j.status, j.prediction_id,
	j.updated, j.created_at);

-- The two hot reads. Each is written once, as an SQL function that the
-- planner inlines into the statement calling it: lib/db.c prepares
-- "SELECT * FROM idle_video_state(...)" as a named statement at its second
-- use on a server connection (PG_PREPARE), and the query is planned once
-- per connection, then only executed. At the first use, and behind
-- PgBouncer 1.18 in transaction mode, which cannot carry named statements,
-- it calls the PL/pgSQL wrappers (..._pl) with unnamed statements instead: PL/pgSQL keeps their plan for the life of a server
-- connection, so a request still pays for executing the join, not for
-- planning it (about 0.15 ms of CPU each time). Every read authenticates:
-- no row means no valid session. Both are STABLE, not STRICT, without SET
-- options (what inlining needs), and name every table with its schema.

-- One persona of the caller: its owner check, its video, its latest job
-- (which a video makes moot: the client reads it only when there is none;
-- a CASE per column cost 9k of 108k instructions).
CREATE OR REPLACE FUNCTION idle_video_state(p_token_hash bytea, p_persona uuid)
RETURNS TABLE (user_id uuid, expires bigint, persona_id uuid, video_url text,
	job_id uuid, job_status text, job_prediction text, job_updated bigint)
LANGUAGE sql STABLE AS $$
	SELECT s.user_id, floor(extract(epoch FROM s.expires_at))::bigint,
	       p.id, p.video_url, p.job_id, p.job_status, p.job_prediction,
	       p.job_updated
	  FROM public.sessions s
	  LEFT JOIN public.personas p ON p.id = p_persona AND p.user_id = s.user_id
	 WHERE s.token_hash = p_token_hash AND s.expires_at > now()
$$;

-- One page of the caller's personas in creation order, after p_after (an
-- id of theirs) when given, then one row for the session (its user_id and
-- expires; the persona's columns NULL): no row at all means no valid
-- session. The personas are read in the order of personas_user_order (the
-- owner is an InitPlan's value, a constant to the planner), and the
-- session's row is merged after them (created_at infinity): ORDER BY holds
-- without a sort of the page (a Merge Append), which cost a page of 1000
-- about 2.2M of the server's 7.8M instructions; so did the session's
-- columns repeated on every row (a uuid's text is about 1k instructions).
-- A persona's job status is moot when it has a video (the client reads
-- it only when there is none).
CREATE OR REPLACE FUNCTION personas_page(p_token_hash bytea, p_after uuid,
	p_limit int)
RETURNS TABLE (user_id text, expires bigint, persona_id uuid, name text,
	video_url text, job_status text)
LANGUAGE sql STABLE AS $$
	SELECT u.user_id, u.expires, u.persona_id, u.name, u.video_url,
	       u.job_status
	  FROM ((SELECT NULL::text AS user_id, NULL::bigint AS expires,
			p.id AS persona_id, p.name, p.video_url, p.job_status,
			p.created_at
		   FROM public.personas p
		  WHERE p.user_id = (SELECT s.user_id FROM public.sessions s
				      WHERE s.token_hash = p_token_hash
				        AND s.expires_at > now())
		    AND (p_after IS NULL OR (p.created_at, p.id) >
			 (SELECT a.created_at, a.id FROM public.personas a
			   WHERE a.id = p_after
			     AND a.user_id = (SELECT s.user_id
						FROM public.sessions s
					       WHERE s.token_hash = p_token_hash
						 AND s.expires_at > now())))
		  ORDER BY p.created_at, p.id LIMIT p_limit)
		UNION ALL
		SELECT s.user_id::text,
		       floor(extract(epoch FROM s.expires_at))::bigint,
		       NULL, NULL, NULL, NULL, 'infinity'::timestamptz
		  FROM public.sessions s
		 WHERE s.token_hash = p_token_hash AND s.expires_at > now()) u
	 ORDER BY u.created_at, u.persona_id
$$;

-- The same two as PL/pgSQL, for unnamed statements (PG_PREPARE off).
CREATE OR REPLACE FUNCTION idle_video_state_pl(p_token_hash bytea,
	p_persona uuid)
RETURNS TABLE (user_id uuid, expires bigint, persona_id uuid, video_url text,
	job_id uuid, job_status text, job_prediction text, job_updated bigint)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN QUERY SELECT * FROM public.idle_video_state(p_token_hash, p_persona);
END
$$;

CREATE OR REPLACE FUNCTION personas_page_pl(p_token_hash bytea, p_after uuid,
	p_limit int)
RETURNS TABLE (user_id text, expires bigint, persona_id uuid, name text,
	video_url text, job_status text)
LANGUAGE plpgsql STABLE AS $$
BEGIN
	RETURN QUERY SELECT * FROM public.personas_page(p_token_hash, p_after,
	    p_limit);
END
$$;

-- Version 1's functions of the two reads, which joined idle_videos.
DROP FUNCTION IF EXISTS idle_video_get(bytea, uuid);
DROP FUNCTION IF EXISTS personas_list(bytea, uuid, int);

-- Starts a job for a persona, unless it has an active one (the partial
-- unique index decides, also when two workers ask at once) or its owner
-- started p_per_hour jobs in the last hour (the provider bills each).
-- outcome: 'created' (job_id is new), 'active' (none created: read the
-- persona's state again), 'rate_limited' (retry_after seconds until the
-- oldest of the hour's jobs leaves the window).
CREATE OR REPLACE FUNCTION job_create(p_persona uuid, p_per_hour int)
RETURNS TABLE (job_id uuid, outcome text, retry_after int)
LANGUAGE plpgsql AS $$
DECLARE
	v_oldest timestamptz;
	v_count int;
BEGIN
	-- One user's starts are counted one at a time.
	PERFORM 1 FROM public.users u JOIN public.personas p ON p.user_id = u.id
	  WHERE p.id = p_persona FOR UPDATE OF u;
	SELECT count(*), min(j.created_at) INTO v_count, v_oldest
	  FROM public.jobs j JOIN public.personas p ON p.id = j.persona_id
	 WHERE p.user_id = (SELECT user_id FROM public.personas WHERE id = p_persona)
	   AND j.created_at > now() - interval '1 hour';
	IF v_count >= p_per_hour THEN
		RETURN QUERY SELECT NULL::uuid, 'rate_limited'::text,
		    greatest(1, ceil(extract(epoch FROM
			v_oldest + interval '1 hour' - now())))::int;
		RETURN;
	END IF;
	RETURN QUERY
	INSERT INTO public.jobs (persona_id, status) VALUES (p_persona, 'starting')
	ON CONFLICT (persona_id) WHERE status IN ('starting', 'processing')
	DO NOTHING RETURNING id, 'created'::text, 0;
	IF NOT FOUND THEN
		RETURN QUERY SELECT NULL::uuid, 'active'::text, 0;
	END IF;
END
$$;

GRANT SELECT, INSERT, UPDATE, DELETE ON users, sessions, personas, jobs, idle_videos
	TO app, app_engine;
GRANT EXECUTE ON FUNCTION idle_video_state(bytea, uuid),
	idle_video_state_pl(bytea, uuid), personas_page(bytea, uuid, int),
	personas_page_pl(bytea, uuid, int), job_create(uuid, int)
	TO app, app_engine;
GRANT SELECT ON schema_version TO app, app_engine;

-- Version 2: personas.video_url and its trigger, the reads as SQL functions.
INSERT INTO schema_version (version) VALUES (1), (2) ON CONFLICT DO NOTHING;

COMMIT;
