// schema/postgres.sql's copies (issue 12): personas.video_url follows
// idle_videos, and personas.job_* the persona's latest job (by created_at),
// whatever writes them and in whichever order; applying the schema again
// changes nothing and repairs a copy that drifted.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT, VAR_DIR, PG_PORT, seed, sql } from './lib.mjs';

let u;

before(() => {
  u = seed(1, 4, 1).users[0];
});

// The persona's copies: [video_url, job_id, job_status, job_prediction].
const copy = async (id) => (await sql(`SELECT coalesce(video_url, '-'), coalesce(job_id::text, '-'),
  coalesce(job_status, '-'), coalesce(job_prediction, '-') FROM personas WHERE id = '${id}'`))[0];
// What the copies stand for, read from the tables themselves.
const truth = async (id) => (await sql(`SELECT coalesce((SELECT video_url FROM idle_videos WHERE persona_id = '${id}'), '-'),
  coalesce(j.id::text, '-'), coalesce(j.status, '-'), coalesce(j.prediction_id, '-')
  FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT * FROM jobs WHERE persona_id = '${id}'
  ORDER BY created_at DESC LIMIT 1) j ON true`))[0];
const job = async (persona, status, prediction, age = '0') => (await sql(`INSERT INTO jobs
  (persona_id, status, prediction_id, created_at, updated_at)
  VALUES ('${persona}', '${status}', ${prediction ? `'${prediction}'` : 'NULL'},
  clock_timestamp() - interval '${age} seconds', clock_timestamp()) RETURNING id`))[0][0];

test('the seeded video is copied; a persona without one has no copy', async () => {
  assert.deepEqual(await copy(u.personas[0]), await truth(u.personas[0]));
  assert.equal((await copy(u.personas[0]))[0], `/media/idle/${u.personas[0]}.mp4`);
  assert.deepEqual(await copy(u.personas[1]), ['-', '-', '-', '-']);
});

test('the latest job is copied, through every change, in any order', async () => {
  const p = u.personas[1];
  const tag = p.slice(0, 8);
  const a = await job(p, 'starting', null);
  assert.deepEqual(await copy(p), [ '-', a, 'starting', '-' ]);
  await sql(`UPDATE jobs SET prediction_id = 'sc-${tag}-a', status = 'processing' WHERE id = '${a}'`);
  assert.deepEqual(await copy(p), [ '-', a, 'processing', `sc-${tag}-a` ]);
  // An older job (created before a) changes nothing: a stays the latest.
  const old = await job(p, 'failed', `sc-${tag}-old`, '3600');
  assert.deepEqual(await copy(p), await truth(p));
  assert.equal((await copy(p))[1], a);
  await sql(`UPDATE jobs SET status = 'canceled' WHERE id = '${old}'`);
  assert.equal((await copy(p))[1], a);
  // A newer one takes over; the reconciliation's mark alone copies nothing.
  await sql(`UPDATE jobs SET status = 'failed' WHERE id = '${a}'`);
  const b = await job(p, 'starting', null);
  assert.deepEqual(await copy(p), [ '-', b, 'starting', '-' ]);
  await sql(`UPDATE jobs SET checked_at = clock_timestamp() WHERE id = '${a}'`);
  assert.deepEqual(await copy(p), await truth(p));
  // The latest one goes: the one before it is the latest again; then none.
  await sql(`DELETE FROM jobs WHERE id = '${b}'`);
  assert.deepEqual(await copy(p), [ '-', a, 'failed', `sc-${tag}-a` ]);
  await sql(`DELETE FROM jobs WHERE persona_id = '${p}'`);
  assert.deepEqual(await copy(p), ['-', '-', '-', '-']);
  // A job moved to another persona leaves its first one.
  const c = await job(p, 'processing', `sc-${tag}-c`);
  await sql(`UPDATE jobs SET persona_id = '${u.personas[2]}' WHERE id = '${c}'`);
  assert.deepEqual(await copy(p), await truth(p));
  assert.deepEqual(await copy(u.personas[2]), await truth(u.personas[2]));
  assert.equal((await copy(u.personas[2]))[1], c);
});

test('a video is copied when it is stored, changed or removed', async () => {
  const p = u.personas[3];
  await job(p, 'processing', `sc-${p.slice(0, 8)}-v`);
  await sql(`INSERT INTO idle_videos (persona_id, video_url) VALUES ('${p}', '/media/idle/v1.mp4')`);
  assert.deepEqual(await copy(p), await truth(p));
  assert.equal((await copy(p))[0], '/media/idle/v1.mp4');
  await sql(`UPDATE idle_videos SET video_url = '/media/idle/v2.mp4' WHERE persona_id = '${p}'`);
  assert.equal((await copy(p))[0], '/media/idle/v2.mp4');
  await sql(`DELETE FROM idle_videos WHERE persona_id = '${p}'`);
  assert.deepEqual(await copy(p), await truth(p));
  assert.equal((await copy(p))[0], '-');
});

test('applying the schema again repairs a copy that drifted, and leaves the rest', async () => {
  const p = u.personas[0];
  // The copies are kept by triggers on idle_videos and jobs: written
  // straight, personas drifts.
  await sql(`UPDATE personas SET video_url = '/drifted', job_status = 'drifted' WHERE id = '${p}'`);
  await sql(`UPDATE personas SET video_url = '/drifted' WHERE id = '${u.personas[1]}'`);	// it has none
  assert.equal((await copy(p))[0], '/drifted');
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', path.join(VAR_DIR, 'pg/sock'), '-p', PG_PORT,
    '-U', 'postgres', '-d', 'app', '-f', path.join(ROOT, 'schema/postgres.sql')],
  { env: { ...process.env, PGOPTIONS: '-c client_min_messages=warning' }, stdio: ['ignore', 'ignore', 'pipe'] });
  assert.deepEqual(await copy(p), await truth(p));
  assert.deepEqual(await copy(u.personas[1]), await truth(u.personas[1]));
  const all = await sql(`SELECT count(*) FROM personas p WHERE p.video_url IS DISTINCT FROM
    (SELECT v.video_url FROM idle_videos v WHERE v.persona_id = p.id) OR p.job_id IS DISTINCT FROM
    (SELECT j.id FROM jobs j WHERE j.persona_id = p.id ORDER BY j.created_at DESC LIMIT 1)`);
  assert.equal(all[0][0], '0', 'every persona\'s copies agree with the tables');
});
