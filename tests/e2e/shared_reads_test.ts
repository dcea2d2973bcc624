/**
 * Reads served from memory must never hide another process's write for long. A process alone on
 * its database answers tasks.get from its actors' state cache; the moment a second process
 * shares the database (it is noticed within the scheduler's 250 ms liveness watch), both read
 * from the store, so a write through one is what the other returns. Real processes, one
 * PostgreSQL database.
 */
import {
  assertEquals,
  createDatabase,
  POSTGRES_ADMIN_URL,
  resultOf,
  rpc,
  type Service,
  startService,
} from "../_helpers.ts";

interface Task {
  name: string;
  version: number;
}

let callId = 0;

async function call<T>(service: Service, method: string, params: unknown): Promise<T> {
  return resultOf<T>(await rpc(service.url, { id: ++callId, method, params }), method);
}

Deno.test({
  name: "a second process's writes are read at once by the first, which read from memory alone",
  ignore: POSTGRES_ADMIN_URL === null,
  async fn() {
    const database = await createDatabase("postgres");
    const services: Service[] = [];
    try {
      const first = await startService({}, { databaseUrl: database.databaseUrl });
      services.push(first);
      await call(first, "tasks.create", { id: "shared", name: "v1" });
      // Alone: warm the memory path with reads of the task it just wrote.
      for (let i = 0; i < 20; i++) {
        assertEquals((await call<Task>(first, "tasks.get", { task_id: "shared" })).name, "v1");
      }

      const second = await startService({}, { databaseUrl: database.databaseUrl });
      services.push(second);
      // The first process notices the second within its liveness watch (250 ms).
      await new Promise((resolve) => setTimeout(resolve, 400));
      let last: Task = { name: "v1", version: 1 };
      for (let round = 2; round <= 6; round++) {
        const [writer, reader] = round % 2 === 0 ? [second, first] : [first, second];
        const written = await call<Task>(writer, "tasks.update", {
          task_id: "shared",
          name: `v${round}`,
        });
        const read = await call<Task>(reader, "tasks.get", { task_id: "shared" });
        assertEquals([read.name, read.version], [`v${round}`, written.version], `round ${round}`);
        last = written;
      }

      // Alone again (the second wrote last): the first catches up with the log before it reads
      // from memory.
      await services.pop()!.stop();
      await new Promise((resolve) => setTimeout(resolve, 600));
      for (let i = 0; i < 5; i++) {
        const read = await call<Task>(first, "tasks.get", { task_id: "shared" });
        assertEquals([read.name, read.version], [last.name, last.version]);
      }
    } finally {
      for (const service of services) await service.stop();
      await database.drop();
    }
  },
});
