/*
 * engine.h: the background engine, the one place where slow or retried
 * work is done, so that no request ever waits on it.
 *
 * It drains the durable outbox (each event applied to the cache at once
 * and to PostgreSQL durably, a succeeded prediction's video copied into
 * our storage first), reconciles jobs whose webhook never came by asking
 * the provider, and sweeps jobs that stayed active past their bounds.
 * Failures are sorted: what may pass later (PostgreSQL away, a conflict)
 * is retried without end and without counting; what belongs to the event
 * (a copy that fails) counts, with exponential backoff, until
 * OUTBOX_MAX_ATTEMPTS makes it a dead letter; what can never pass (the
 * server refuses the data, the file is not a video) is a dead letter at
 * once. A dead letter fails its job, so that the persona can start again,
 * and stays listed until retried.
 *
 * It runs as video-complete with an argument:
 *   --engine            the long-lived process, one per host (scripts/stack
 *                       and conf/ start it)
 *   --drain             one pass of everything, then exit (a timer's job
 *                       where no process may live)
 *   --outbox            lists the pending and dead events
 *   --outbox retry ID   makes a dead event pending again
 */
#ifndef ENGINE_H
#define ENGINE_H

/* Runs the command in argv (see above); returns the exit status. */
int	engine_main(int argc, char **argv);

#endif /* ENGINE_H */
