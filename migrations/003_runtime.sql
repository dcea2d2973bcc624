-- The runtime's columns: when each task fires (its next run plus jitter) and what executes it,
-- so start-up arms the timer wheel from the snapshot rows alone; and on runs, what the queue
-- executor and the crash recovery need (who executes a run, its deadline, worker leases).

alter table tasks add column fire_at timestamptz;
alter table tasks add column executor_type text not null default 'echo';
update tasks set fire_at = next_run_at, executor_type = coalesce(state->'executor'->>'type', 'echo');

alter table runs add column owner integer;
alter table runs add column deadline_at timestamptz;
alter table runs add column capability text;
alter table runs add column worker_id text;
alter table runs add column lease_expires_at timestamptz;
-- Set while a failed attempt waits out its backoff: no worker may claim it, no sweep time it out.
alter table runs add column retry_at timestamptz;

-- Runs not yet ended: the recovery sweep's and the queue workers' work list.
create index runs_open on runs (capability, scheduled_for) where status in ('pending', 'running');

-- Snapshots written before the runtime held at most one run in flight (`activeRun`, only ever
-- set inside one append): give them the runtime's fields, empty.
update tasks
   set state = ((state::jsonb - 'activeRun')
     || '{"activeRuns": [], "waiting": [], "excluded": [], "extras": [], "lastManualAt": null}'::jsonb)::json
 where (state::jsonb) ? 'activeRun';
