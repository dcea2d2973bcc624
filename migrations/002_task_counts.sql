-- tasks.list and tasks.scheduled.list report how many tasks match; counting a million rows per
-- page costs 50-130 ms, so the counts by every field those lists filter on (except parent_id,
-- whose sets are small) are kept here, in the same transaction as the snapshots.
create table task_counts (
  user_id text not null,           -- '' for tasks without a user
  status text not null,
  schedule_type text not null,     -- '' for tasks without a schedule
  schedule_enabled boolean not null,
  tasks bigint not null,
  primary key (user_id, status, schedule_type, schedule_enabled)
);

insert into task_counts (user_id, status, schedule_type, schedule_enabled, tasks)
select coalesce(user_id, ''), status, coalesce(schedule_type, ''), schedule_enabled, count(*)
  from tasks where deleted_at is null
 group by 1, 2, 3, 4;

-- Snapshots are written whole and read whole, never queried inside: json stores the text as
-- given and skips jsonb's conversion on every upsert.
alter table tasks alter column state type json using state::json;

-- runs_one_per_occurrence (task_id, scheduled_for) serves the same scans, read backwards.
drop index runs_by_task;
