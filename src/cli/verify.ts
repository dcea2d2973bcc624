/** `verify`: replays the whole event log from zero and proves it equals the live state. */
import { openStore, type StoreOptions } from "../store/mod.ts";
import { verifyLog, type VerifyProgress, type VerifyReport } from "../store/verify.ts";
import { describeError, failure, parseCommand, readFormat, usageError } from "./common.ts";

/** The help text of `verify`. */
export const VERIFY_USAGE = `Usage: deno task cli verify [options]

Replays the whole event log from zero and proves the result equals the live state: every task's
snapshot must be the fold of its events (stream versions 1..n, no gaps), every stream must have a
snapshot, and the runs table must hold one row per run the log records. Prints the counts it
checked and, on a mismatch, the first tasks at fault. Shows progress on stderr.

It opens the event log itself, not through the service:
      --database-url URL   PostgreSQL (default: DATABASE_URL); may be verified while the service
                           runs
      --data-dir DIR       the embedded PGlite folder (default: CHRONOLOG_DATA_DIR, else ./data);
                           PGlite allows one process per folder, so stop the service first
  -f, --format table|json  output for people (default) or scripts
  -h, --help               this text

Exit codes: 0 the log and the live state agree, 1 a mismatch or the store cannot be opened,
2 usage error.`;

/** How often a progress line is printed when stderr is not a terminal. */
const PROGRESS_LINE_MS = 5000;
/** How often the progress bar is redrawn on a terminal. */
const PROGRESS_BAR_MS = 100;
const BAR_WIDTH = 30;

/** `verify`: checks the log against the live state and prints what it checked. */
export async function runVerify(args: string[]): Promise<number> {
  const parsed = parseCommand(args, {
    "database-url": { type: "string" },
    "data-dir": { type: "string" },
    format: { type: "string", short: "f", default: "table" },
    help: { type: "boolean", short: "h" },
  }, { usage: VERIFY_USAGE, positionals: false });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  const format = readFormat(values.format);
  if (format === null) return usageError(`--format must be table or json, got "${values.format}"`);
  const location = storeLocation(values["database-url"], values["data-dir"]);
  if (typeof location === "string") return usageError(location);

  const where = location.databaseUrl ? "PostgreSQL" : `embedded PGlite in ${location.dataDir}`;
  if (!location.databaseUrl && !await isPgliteFolder(location.dataDir!)) {
    return failure(
      `no embedded event log in ${location.dataDir} (give --data-dir, CHRONOLOG_DATA_DIR or ` +
        "DATABASE_URL)",
    );
  }
  let store;
  try {
    store = await openStore({ ...location, maxConnections: 4, migrate: false });
  } catch (error) {
    return failure(`cannot open the event log (${where}): ${describeError(error)}`);
  }
  const progress = progressReporter();
  let report: VerifyReport;
  try {
    report = await verifyLog(store, { onProgress: progress.update });
  } catch (error) {
    return failure(`verification stopped (${where}): ${describeError(error)}`);
  } finally {
    progress.done();
    await store.close().catch(() => {});
  }

  if (format === "json") {
    console.log(JSON.stringify({
      ok: report.mismatchCount === 0,
      tasks: report.tasks,
      events: report.events,
      runs: report.runs,
      mismatch_count: report.mismatchCount,
      mismatches: report.mismatches.map((mismatch) => ({
        task_id: mismatch.taskId,
        reason: mismatch.reason,
      })),
      settled: report.settled,
      elapsed_ms: report.elapsedMs,
    }));
  } else {
    printReport(report, where);
  }
  return report.mismatchCount === 0 ? 0 : 1;
}

/** Where the log is: flags first, then the environment; a string is a usage error. */
function storeLocation(
  databaseUrl: string | undefined,
  dataDir: string | undefined,
): StoreOptions | string {
  if (databaseUrl !== undefined && dataDir !== undefined) {
    return "give --database-url or --data-dir, not both";
  }
  const url = databaseUrl ?? (dataDir === undefined ? Deno.env.get("DATABASE_URL") || null : null);
  if (url !== null) {
    return /^postgres(ql)?:\/\//.test(url)
      ? { databaseUrl: url }
      : `${
        databaseUrl === undefined ? "DATABASE_URL" : "--database-url"
      } must be a postgres:// URL`;
  }
  return { dataDir: dataDir ?? (Deno.env.get("CHRONOLOG_DATA_DIR") || "./data") };
}

/** Whether a folder holds a PGlite database, so a mistyped path is not verified as empty. */
async function isPgliteFolder(dir: string): Promise<boolean> {
  try {
    return (await Deno.stat(`${dir}/PG_VERSION`)).isFile;
  } catch {
    return false;
  }
}

function printReport(report: VerifyReport, where: string): void {
  const lines: [string, string][] = [
    ["tasks checked", String(report.tasks)],
    ["events checked", String(report.events)],
    ["runs checked", String(report.runs)],
    ["mismatches", String(report.mismatchCount)],
    ["elapsed", `${report.elapsedMs} ms`],
  ];
  for (const [label, value] of lines) console.log(`${`${label}:`.padEnd(16)}${value}`);
  for (const mismatch of report.mismatches) {
    console.log(
      `mismatch: ${
        mismatch.taskId === null ? "totals" : `task ${mismatch.taskId}`
      }: ${mismatch.reason}`,
    );
  }
  const unlisted = report.mismatchCount - report.mismatches.length;
  if (unlisted > 0) console.log(`… and ${unlisted} more mismatches`);
  if (!report.settled) {
    console.log(
      "note: the log grew while it was read, so the event and run totals were not compared; " +
        "each task was checked against its latest snapshot",
    );
  }
  console.log(
    report.mismatchCount === 0
      ? `ok: replaying the log from zero gives the live state (${where})`
      : `failed: the log and the live state disagree (${where})`,
  );
}

/** A progress bar on a terminal, otherwise a line every few seconds (so only for long logs). */
function progressReporter(): { update(progress: VerifyProgress): void; done(): void } {
  const terminal = Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  const write = (text: string) => Deno.stderr.writeSync(encoder.encode(text));
  const started = Date.now();
  let last = started;
  let drawn = false;
  return {
    update(progress: VerifyProgress): void {
      const now = Date.now();
      const { tasksChecked, tasksTotal, eventsChecked } = progress;
      const counts = `${tasksChecked}/${tasksTotal} tasks, ${eventsChecked} events`;
      if (terminal) {
        if (now - last < PROGRESS_BAR_MS && tasksChecked < tasksTotal) return;
        const ratio = tasksTotal === 0 ? 1 : Math.min(1, tasksChecked / tasksTotal);
        const filled = Math.round(ratio * BAR_WIDTH);
        const bar = "#".repeat(filled) + "-".repeat(BAR_WIDTH - filled);
        write(`\r[${bar}] ${String(Math.floor(ratio * 100)).padStart(3)}%  ${counts}`);
        drawn = true;
      } else {
        if (now - last < PROGRESS_LINE_MS) return;
        console.error(`verify: ${counts} checked (${Math.round((now - started) / 1000)} s)`);
      }
      last = now;
    },
    done(): void {
      if (drawn) write("\r\x1b[2K");
    },
  };
}
