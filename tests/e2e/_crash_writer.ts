/**
 * A writer for the crash test: appends batches of task commands through the real actors and
 * group commit until it is killed, printing each batch it saw committed.
 */
import { isDomainError } from "../../src/domain/errors.ts";
import { TaskActors } from "../../src/runtime/actors.ts";
import { TaskService } from "../../src/runtime/tasks.ts";
import { openStore } from "../../src/store/mod.ts";
import { scheduleFields, taskSettings } from "../_helpers.ts";

const settings = taskSettings({
  name: "crash",
  userId: "crash",
  inputs: { payload: "x".repeat(200) },
});
const meta = { actor: "crash-writer", requestId: null, causation: "test" };

const store = await openStore({
  databaseUrl: Deno.env.get("DATABASE_URL") ?? null,
  dataDir: Deno.env.get("CHRONOLOG_DATA_DIR") ?? null,
});
const tasks = new TaskService(store, new TaskActors(store));
for (let batch = 0;; batch++) {
  const ids = Array.from({ length: 100 }, (_, i) => `b${batch}-${i}`);
  const created = await Promise.all(ids.map((id) =>
    tasks.create({
      id,
      settings,
      schedule: scheduleFields({ expression: "60" }),
    }, meta)
  ));
  if (created.some(isDomainError)) throw new Error("create refused");
  // Updates and completed runs in flight when the kill lands, interleaved with creates.
  await Promise.all(ids.map((id, i) =>
    i % 2 === 0
      ? tasks.completeOccurrence(id, {
        scheduledFor: null,
        success: true,
        result: { i },
        error: null,
        calculateNextRun: true,
      }, meta)
      : tasks.update(id, { settings: { priority: i }, schedule: null, expectedVersion: null }, meta)
  ));
  console.log(`batch ${batch}`);
}
