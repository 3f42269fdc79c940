/**
 * The journal's schema on PostgreSQL: the same tables and the same event-sourced projection as on SQLite
 * (`sqliteSchema.ts`), written in PL/pgSQL. One BEFORE INSERT trigger applies each event to `runs`, `tasks` and
 * `attempts` and strips the workflow from a stored `RunSubmitted`, so appending a batch is one atomic statement.
 */

/** Appends a batch: the parameter is a JSON array of events (in order). */
export const appendBatch = `INSERT INTO events (run_id, seq, type, task_id, attempt, at, data)
  SELECT e.value ->> 'runId', (e.value ->> 'seq')::bigint, e.value ->> '_tag', e.value ->> 'taskId',
    (e.value ->> 'attempt')::integer, (e.value ->> 'at')::bigint, e.value
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS e(value, position)
  ORDER BY e.position`

/** Statements of the first migration, in order. */
export const init: ReadonlyArray<string> = [
  `CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    spec JSONB NOT NULL,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    error JSONB,
    outputs JSONB,
    owner TEXT,
    node TEXT,
    task_count INTEGER NOT NULL
  )`,
  `CREATE INDEX runs_by_status ON runs (status, created_at)`,
  `CREATE INDEX runs_by_created ON runs (created_at)`,
  `CREATE TABLE tasks (
    run_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    name TEXT NOT NULL,
    method TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    result JSONB,
    error JSONB,
    started_at BIGINT,
    finished_at BIGINT,
    PRIMARY KEY (run_id, task_id)
  )`,
  `CREATE TABLE attempts (
    run_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    error JSONB,
    provider TEXT,
    node TEXT,
    idempotency_key TEXT NOT NULL,
    PRIMARY KEY (run_id, task_id, attempt)
  )`,
  `CREATE TABLE events (
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    type TEXT NOT NULL,
    task_id TEXT,
    attempt INTEGER,
    at BIGINT NOT NULL,
    data JSONB NOT NULL,
    PRIMARY KEY (run_id, seq)
  )`,
  `CREATE FUNCTION gleitzeit_apply_event() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    CASE NEW.type
    WHEN 'RunSubmitted' THEN
      INSERT INTO runs (id, workflow_id, name, status, spec, created_at, owner, task_count)
        VALUES (NEW.run_id, NEW.data ->> 'workflowId', NEW.data ->> 'name', 'pending', NEW.data -> 'workflow',
          NEW.at, NEW.data ->> 'owner', (NEW.data ->> 'taskCount')::integer);
      INSERT INTO tasks (run_id, task_id, position, name, method, status, attempts)
        SELECT NEW.run_id, t.value ->> 'id', t.position - 1, t.value ->> 'name', t.value ->> 'method', 'pending', 0
        FROM jsonb_array_elements(NEW.data -> 'workflow' -> 'tasks') WITH ORDINALITY AS t(value, position);
      NEW.data := NEW.data - 'workflow' - 'owner';
    WHEN 'RunStarted' THEN
      UPDATE runs SET status = 'running', started_at = COALESCE(started_at, NEW.at), finished_at = NULL, error = NULL
        WHERE id = NEW.run_id;
    WHEN 'TaskStarted' THEN
      UPDATE tasks SET status = 'running', attempts = NEW.attempt, started_at = COALESCE(started_at, NEW.at)
        WHERE run_id = NEW.run_id AND task_id = NEW.task_id;
      INSERT INTO attempts (run_id, task_id, attempt, status, started_at, node, idempotency_key)
        VALUES (NEW.run_id, NEW.task_id, NEW.attempt, 'running', NEW.at, NEW.data ->> 'node',
          NEW.run_id || '/' || NEW.task_id)
        ON CONFLICT (run_id, task_id, attempt) DO UPDATE SET status = 'running', started_at = EXCLUDED.started_at,
          finished_at = NULL, error = NULL, node = EXCLUDED.node;
    WHEN 'TaskCompleted' THEN
      UPDATE tasks SET status = 'completed', result = NEW.data -> 'result', error = NULL, finished_at = NEW.at
        WHERE run_id = NEW.run_id AND task_id = NEW.task_id;
      UPDATE attempts SET status = 'completed', finished_at = NEW.at, provider = NEW.data ->> 'provider'
        WHERE run_id = NEW.run_id AND task_id = NEW.task_id AND attempt = NEW.attempt;
    WHEN 'TaskAttemptFailed' THEN
      UPDATE attempts SET status = 'failed', finished_at = NEW.at, error = NEW.data -> 'error'
        WHERE run_id = NEW.run_id AND task_id = NEW.task_id AND attempt = NEW.attempt;
    WHEN 'TaskFailed' THEN
      UPDATE tasks SET status = 'failed', error = NEW.data -> 'error', finished_at = NEW.at
        WHERE run_id = NEW.run_id AND task_id = NEW.task_id;
      UPDATE attempts SET status = 'failed', finished_at = NEW.at, error = NEW.data -> 'error'
        WHERE run_id = NEW.run_id AND task_id = NEW.task_id AND attempt = NEW.attempt;
    WHEN 'TaskSkipped' THEN
      UPDATE tasks SET status = 'skipped', error = jsonb_build_object('reason', NEW.data ->> 'reason'),
        finished_at = NEW.at WHERE run_id = NEW.run_id AND task_id = NEW.task_id;
    WHEN 'TaskCancelled' THEN
      UPDATE tasks SET status = 'cancelled', finished_at = NEW.at WHERE run_id = NEW.run_id AND task_id = NEW.task_id;
      UPDATE attempts SET status = 'cancelled', finished_at = NEW.at
        WHERE run_id = NEW.run_id AND task_id = NEW.task_id AND status = 'running';
    WHEN 'RunCompleted' THEN
      UPDATE runs SET status = 'completed', outputs = NEW.data -> 'outputs', finished_at = NEW.at WHERE id = NEW.run_id;
    WHEN 'RunFailed' THEN
      UPDATE runs SET status = 'failed', error = NEW.data -> 'error', finished_at = NEW.at WHERE id = NEW.run_id;
    WHEN 'RunCancelled' THEN
      UPDATE runs SET status = 'cancelled', finished_at = NEW.at,
        error = jsonb_build_object('code', -28004, 'message', NEW.data ->> 'reason') WHERE id = NEW.run_id;
    WHEN 'RunTimedOut' THEN
      UPDATE runs SET status = 'timed_out', finished_at = NEW.at,
        error = jsonb_build_object('code', -28003,
          'message', 'the run exceeded its deadline of ' || (NEW.data ->> 'timeoutMs') || ' ms')
        WHERE id = NEW.run_id;
    ELSE
      NULL;
    END CASE;
    RETURN NEW;
  END
  $$`,
  `CREATE TRIGGER events_apply BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION gleitzeit_apply_event()`
]

/**
 * Migration 0002: an attempt executed on another node than its coordinator's (a cluster's task worker) records that
 * node when it completes.
 */
export const attemptNode: ReadonlyArray<string> = [
  `CREATE OR REPLACE FUNCTION gleitzeit_attempt_node() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE attempts SET node = NEW.data ->> 'node'
      WHERE run_id = NEW.run_id AND task_id = NEW.task_id AND attempt = NEW.attempt;
    RETURN NULL;
  END
  $$`,
  `CREATE TRIGGER events_attempt_node AFTER INSERT ON events FOR EACH ROW
    WHEN (NEW.type = 'TaskCompleted' AND NEW.data ? 'node') EXECUTE FUNCTION gleitzeit_attempt_node()`
]

/** Migration 0003: a `RunStarted` naming a node makes it the run's owner (a cluster's run actor taking it on). */
export const runOwner: ReadonlyArray<string> = [
  `CREATE OR REPLACE FUNCTION gleitzeit_run_owner() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    UPDATE runs SET owner = NEW.data ->> 'node' WHERE id = NEW.run_id;
    RETURN NULL;
  END
  $$`,
  `CREATE TRIGGER events_run_owner AFTER INSERT ON events FOR EACH ROW
    WHEN (NEW.type = 'RunStarted' AND NEW.data ? 'node') EXECUTE FUNCTION gleitzeit_run_owner()`
]
