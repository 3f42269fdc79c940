/**
 * The journal's schema on SQLite. The `events` table is the append-only log; `runs`, `tasks` and `attempts` are
 * projections maintained by triggers, so appending a batch of events is one statement (`appendBatch`) that
 * updates everything atomically. A `RunSubmitted` event carries the workflow and owner in its row; its trigger
 * creates the run and its tasks, then strips them from the stored event.
 */

/** Appends a batch: the parameter is a JSON array of events (in order). */
export const appendBatch = `INSERT INTO events (run_id, seq, type, task_id, attempt, at, data)
  SELECT value ->> '$.runId', value ->> '$.seq', value ->> '$._tag', value ->> '$.taskId', value ->> '$.attempt',
    value ->> '$.at', value
  FROM json_each(?)`

/** Statements of the first migration, in order. */
export const init: ReadonlyArray<string> = [
  `CREATE TABLE runs (
    id TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    spec TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    error TEXT,
    outputs TEXT,
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
    result TEXT,
    error TEXT,
    started_at INTEGER,
    finished_at INTEGER,
    PRIMARY KEY (run_id, task_id)
  ) WITHOUT ROWID`,
  `CREATE TABLE attempts (
    run_id TEXT NOT NULL,
    task_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    status TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    finished_at INTEGER,
    error TEXT,
    provider TEXT,
    node TEXT,
    idempotency_key TEXT NOT NULL,
    PRIMARY KEY (run_id, task_id, attempt)
  ) WITHOUT ROWID`,
  `CREATE TABLE events (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    task_id TEXT,
    attempt INTEGER,
    at INTEGER NOT NULL,
    data TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
  ) WITHOUT ROWID`,
  `CREATE TRIGGER events_run_submitted AFTER INSERT ON events WHEN NEW.type = 'RunSubmitted' BEGIN
    INSERT INTO runs (id, workflow_id, name, status, spec, created_at, owner, task_count)
      VALUES (NEW.run_id, NEW.data ->> '$.workflowId', NEW.data ->> '$.name', 'pending', NEW.data -> '$.workflow',
        NEW.at, NEW.data ->> '$.owner', NEW.data ->> '$.taskCount');
    INSERT INTO tasks (run_id, task_id, position, name, method, status, attempts)
      SELECT NEW.run_id, value ->> '$.id', key, value ->> '$.name', value ->> '$.method', 'pending', 0
      FROM json_each(NEW.data, '$.workflow.tasks');
    UPDATE events SET data = json_remove(data, '$.workflow', '$.owner') WHERE run_id = NEW.run_id AND seq = NEW.seq;
  END`,
  `CREATE TRIGGER events_run_started AFTER INSERT ON events WHEN NEW.type = 'RunStarted' BEGIN
    UPDATE runs SET status = 'running', started_at = COALESCE(started_at, NEW.at), finished_at = NULL, error = NULL
      WHERE id = NEW.run_id;
  END`,
  `CREATE TRIGGER events_task_started AFTER INSERT ON events WHEN NEW.type = 'TaskStarted' BEGIN
    UPDATE tasks SET status = 'running', attempts = NEW.attempt, started_at = COALESCE(started_at, NEW.at)
      WHERE run_id = NEW.run_id AND task_id = NEW.task_id;
    INSERT INTO attempts (run_id, task_id, attempt, status, started_at, node, idempotency_key)
      VALUES (NEW.run_id, NEW.task_id, NEW.attempt, 'running', NEW.at, NEW.data ->> '$.node',
        NEW.run_id || '/' || NEW.task_id)
      ON CONFLICT (run_id, task_id, attempt) DO UPDATE SET status = 'running', started_at = excluded.started_at,
        finished_at = NULL, error = NULL, node = excluded.node;
  END`,
  `CREATE TRIGGER events_task_completed AFTER INSERT ON events WHEN NEW.type = 'TaskCompleted' BEGIN
    UPDATE tasks SET status = 'completed', result = NEW.data -> '$.result', error = NULL, finished_at = NEW.at
      WHERE run_id = NEW.run_id AND task_id = NEW.task_id;
    UPDATE attempts SET status = 'completed', finished_at = NEW.at, provider = NEW.data ->> '$.provider'
      WHERE run_id = NEW.run_id AND task_id = NEW.task_id AND attempt = NEW.attempt;
  END`,
  `CREATE TRIGGER events_task_attempt_failed AFTER INSERT ON events WHEN NEW.type = 'TaskAttemptFailed' BEGIN
    UPDATE attempts SET status = 'failed', finished_at = NEW.at, error = NEW.data -> '$.error'
      WHERE run_id = NEW.run_id AND task_id = NEW.task_id AND attempt = NEW.attempt;
  END`,
  `CREATE TRIGGER events_task_failed AFTER INSERT ON events WHEN NEW.type = 'TaskFailed' BEGIN
    UPDATE tasks SET status = 'failed', error = NEW.data -> '$.error', finished_at = NEW.at
      WHERE run_id = NEW.run_id AND task_id = NEW.task_id;
    UPDATE attempts SET status = 'failed', finished_at = NEW.at, error = NEW.data -> '$.error'
      WHERE run_id = NEW.run_id AND task_id = NEW.task_id AND attempt = NEW.attempt;
  END`,
  `CREATE TRIGGER events_task_skipped AFTER INSERT ON events WHEN NEW.type = 'TaskSkipped' BEGIN
    UPDATE tasks SET status = 'skipped', error = json_object('reason', NEW.data ->> '$.reason'), finished_at = NEW.at
      WHERE run_id = NEW.run_id AND task_id = NEW.task_id;
  END`,
  `CREATE TRIGGER events_task_cancelled AFTER INSERT ON events WHEN NEW.type = 'TaskCancelled' BEGIN
    UPDATE tasks SET status = 'cancelled', finished_at = NEW.at WHERE run_id = NEW.run_id AND task_id = NEW.task_id;
    UPDATE attempts SET status = 'cancelled', finished_at = NEW.at
      WHERE run_id = NEW.run_id AND task_id = NEW.task_id AND status = 'running';
  END`,
  `CREATE TRIGGER events_run_completed AFTER INSERT ON events WHEN NEW.type = 'RunCompleted' BEGIN
    UPDATE runs SET status = 'completed', outputs = NEW.data -> '$.outputs', finished_at = NEW.at WHERE id = NEW.run_id;
  END`,
  `CREATE TRIGGER events_run_failed AFTER INSERT ON events WHEN NEW.type = 'RunFailed' BEGIN
    UPDATE runs SET status = 'failed', error = NEW.data -> '$.error', finished_at = NEW.at WHERE id = NEW.run_id;
  END`,
  `CREATE TRIGGER events_run_cancelled AFTER INSERT ON events WHEN NEW.type = 'RunCancelled' BEGIN
    UPDATE runs SET status = 'cancelled', finished_at = NEW.at,
      error = json_object('code', -28004, 'message', NEW.data ->> '$.reason') WHERE id = NEW.run_id;
  END`,
  `CREATE TRIGGER events_run_timed_out AFTER INSERT ON events WHEN NEW.type = 'RunTimedOut' BEGIN
    UPDATE runs SET status = 'timed_out', finished_at = NEW.at,
      error = json_object('code', -28003, 'message', 'the run exceeded its deadline of ' || (NEW.data ->> '$.timeoutMs') || ' ms')
      WHERE id = NEW.run_id;
  END`
]

/**
 * Migration 0002: an attempt executed on another node than its coordinator's (a cluster's task worker) records that
 * node when it completes.
 */
export const attemptNode: ReadonlyArray<string> = [
  `CREATE TRIGGER events_attempt_node AFTER INSERT ON events
    WHEN NEW.type = 'TaskCompleted' AND NEW.data ->> '$.node' IS NOT NULL BEGIN
    UPDATE attempts SET node = NEW.data ->> '$.node'
      WHERE run_id = NEW.run_id AND task_id = NEW.task_id AND attempt = NEW.attempt;
  END`
]

/** Migration 0003: a `RunStarted` naming a node makes it the run's owner (a cluster's run actor taking it on). */
export const runOwner: ReadonlyArray<string> = [
  `CREATE TRIGGER events_run_owner AFTER INSERT ON events
    WHEN NEW.type = 'RunStarted' AND NEW.data ->> '$.node' IS NOT NULL BEGIN
    UPDATE runs SET owner = NEW.data ->> '$.node' WHERE id = NEW.run_id;
  END`
]
