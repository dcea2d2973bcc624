/** How the CLI shows results: tables and `key: value` lists for people, JSON for scripts. */
import { isRecord } from "./rpc_client.ts";

/** One column of a table: its header and how a row fills it. */
export interface Column {
  header: string;
  cell(row: Record<string, unknown>): string;
  /** The widest a cell may be; longer text is clipped with "…". */
  max?: number;
}

/** Prints the result as one line of JSON, exactly as the service returned it. */
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value));
}

/** Prints rows under a header, columns aligned and two spaces apart. */
export function printTable(rows: readonly Record<string, unknown>[], columns: Column[]): void {
  const cells = rows.map((row) =>
    columns.map((column) => clip(printable(column.cell(row)), column.max))
  );
  const widths = columns.map((column, index) =>
    Math.max(column.header.length, ...cells.map((row) => row[index].length))
  );
  const line = (texts: string[]) =>
    texts.map((text, index) => text.padEnd(widths[index])).join("  ").trimEnd();
  console.log(line(columns.map((column) => column.header)));
  for (const row of cells) console.log(line(row));
}

/** Prints an object one field per line, `key: value`, values aligned. */
export function printRecord(record: Record<string, unknown>): void {
  const entries = Object.entries(record);
  if (entries.length === 0) return;
  const width = Math.max(...entries.map(([key]) => key.length)) + 1;
  for (const [key, value] of entries) {
    const text = typeof value === "string" ? value : JSON.stringify(value) ?? "null";
    console.log(`${`${key}:`.padEnd(width)} ${printable(text)}`);
  }
}

/** A field as a table cell: text as is, instants shorter, nothing as "-", the rest as JSON. */
export function cellText(value: unknown): string {
  if (value === null || value === undefined || value === "") return "-";
  if (typeof value === "string") return instantText(value);
  return JSON.stringify(value);
}

/** An ISO instant with whole seconds reads shorter without ".000"; other text is unchanged. */
export function instantText(text: string): string {
  return /^\d{4}-\d\d-\d\dT[\d:]{8}\.000Z$/.test(text) ? text.replace(".000Z", "Z") : text;
}

/** The array of objects at `key` of a result, or null when the result has another shape. */
export function recordsAt(result: unknown, key: string): Record<string, unknown>[] | null {
  if (!isRecord(result) || !Array.isArray(result[key])) return null;
  const items = result[key] as unknown[];
  return items.every(isRecord) ? items : null;
}

/** Prints an object result (a task, a status) one field per line. */
export function printFields(result: unknown): string | void {
  if (!isRecord(result)) return "the service sent an unexpected reply";
  printRecord(result);
}

/** Prints a page of tasks as a table, saying how to get the next page when there is one. */
export function printTaskPage(result: unknown): string | void {
  const tasks = recordsAt(result, "tasks");
  if (tasks === null || !isRecord(result)) return "the service sent an unexpected reply";
  if (tasks.length === 0) {
    console.log("no tasks");
    return;
  }
  printTable(tasks, TASK_COLUMNS);
  const { total, offset } = result;
  if (typeof total === "number" && typeof offset === "number" && offset + tasks.length < total) {
    const last = offset + tasks.length;
    console.log(`${offset + 1}–${last} of ${total} tasks; the next page: --offset ${last}`);
  }
}

/** The columns of a task list. */
export const TASK_COLUMNS: Column[] = [
  { header: "id", cell: (task) => cellText(task.id) },
  { header: "name", cell: (task) => cellText(task.name), max: 32 },
  { header: "status", cell: (task) => cellText(task.status) },
  { header: "schedule", cell: scheduleText, max: 48 },
  { header: "next_run_at", cell: (task) => cellText(task.next_run_at) },
  { header: "last_run_at", cell: (task) => cellText(task.last_run_at) },
  { header: "runs", cell: (task) => cellText(task.run_count) },
];

/** The columns of a run history. */
export const RUN_COLUMNS: Column[] = [
  { header: "run_id", cell: (run) => cellText(run.run_id) },
  { header: "scheduled_for", cell: (run) => cellText(run.scheduled_for) },
  { header: "trigger", cell: (run) => cellText(run.trigger) },
  { header: "attempt", cell: (run) => cellText(run.attempt) },
  { header: "status", cell: (run) => cellText(run.status) },
  { header: "finished_at", cell: (run) => cellText(run.finished_at) },
  { header: "error", cell: (run) => cellText(run.error), max: 60 },
];

/** A task's schedule in one cell: type, quoted expression, zone, and whether it is off. */
function scheduleText(task: Record<string, unknown>): string {
  if (typeof task.schedule_type !== "string") return "-";
  const text = `${task.schedule_type} ${JSON.stringify(task.schedule_expression)} ${
    task.schedule_timezone ?? "UTC"
  }`;
  return task.schedule_enabled === false ? `${text} (disabled)` : text;
}

function clip(text: string, max: number | undefined): string {
  return max !== undefined && text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** Text safe for one terminal line: control characters (newlines, escapes) become "�". */
function printable(text: string): string {
  // deno-lint-ignore no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f]/g, "\ufffd");
}
