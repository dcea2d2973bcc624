-- The append-only event log, the task snapshots that double as the query projection, and the
-- runs table whose unique key makes "one run per occurrence" the database's decision.

create table events (
  global_position bigserial primary key,
  stream_id text not null,
  stream_version integer not null,
  type text not null,
  data jsonb not null,
  metadata jsonb not null default '{}'::jsonb,
  recorded_at timestamptz not null,
  constraint events_stream_version_key unique (stream_id, stream_version),
  constraint events_stream_version_positive check (stream_version >= 1)
);

-- One row per task: its state after its latest event, written in the same transaction as the
-- events, so start-up loads these rows instead of replaying the log.
create table tasks (
  task_id text primary key,
  version integer not null,
  name text not null,
  user_id text,
  parent_id text,
  status text not null,
  schedule_type text,
  schedule_enabled boolean not null,
  next_run_at timestamptz,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  deleted_at timestamptz,
  state jsonb not null
);

create index tasks_by_created on tasks (created_at desc, task_id desc) where deleted_at is null;
create index tasks_by_user on tasks (user_id, created_at desc, task_id desc)
  where deleted_at is null;
create index tasks_by_status on tasks (status, created_at desc, task_id desc)
  where deleted_at is null;
create index tasks_by_parent on tasks (parent_id, created_at desc, task_id desc)
  where deleted_at is null and parent_id is not null;
create index tasks_due on tasks (next_run_at)
  where deleted_at is null and schedule_enabled and next_run_at is not null;

-- One row per occurrence that ran or was skipped; the unique key is the exactly-once arbiter.
create table runs (
  run_id text primary key,
  task_id text not null,
  scheduled_for timestamptz not null,
  trigger text not null,
  attempt integer not null,
  status text not null,
  started_at timestamptz,
  finished_at timestamptz,
  lateness_ms bigint,
  result jsonb,
  error text,
  constraint runs_one_per_occurrence unique (task_id, scheduled_for)
);

create index runs_by_task on runs (task_id, scheduled_for desc);
