import { z } from "zod";
import { DomainError, isDomainError } from "../../domain/errors.ts";
import type { TaskService } from "../../runtime/tasks.ts";
import {
  describeSchedule,
  type GapPolicy,
  nextRuns,
  parseSchedule,
  type RepeatPolicy,
  type Schedule,
  SCHEDULE_TYPES,
} from "../../domain/schedule/mod.ts";
import type { MethodRegistry } from "../jsonrpc.ts";
import { formatInstant, isoInstant, parseInstant, TaskId } from "../wire.ts";

const GAP_POLICIES = ["shift", "skip"] as const satisfies readonly GapPolicy[];
const REPEAT_POLICIES = ["first", "both", "last"] as const satisfies readonly RepeatPolicy[];

/** The most runs one preview may list. */
export const MAX_PREVIEW_COUNT = 1000;

/** A `dst_policy` override as clients send it. */
export const DstPolicyParam = z.strictObject({
  gap: z.enum(GAP_POLICIES).optional(),
  repeat: z.enum(REPEAT_POLICIES).optional(),
}).describe("How local times at a daylight-saving edge are read (SPEC §1)");

const ScheduleParams = z.strictObject({
  schedule_type: z.enum(SCHEDULE_TYPES).describe("How schedule_expression is read"),
  schedule_expression: z.string().max(4096).describe("e.g. 0 9 * * 1-5, PT15M, 09:00,17:30"),
  schedule_timezone: z.string().max(64).default("UTC")
    .describe("IANA zone in which local times are read"),
  schedule_start_at: isoInstant.nullish()
    .describe("No run before this instant; the interval anchor when set"),
  schedule_end_at: isoInstant.nullish().describe("No run after this instant"),
  max_runs: z.int().min(1).nullish().describe("No more runs than this"),
  dst_policy: DstPolicyParam.nullish(),
});

const PreviewParams = ScheduleParams.partial({ schedule_type: true, schedule_expression: true })
  .extend({
    task_id: TaskId.optional()
      .describe("Preview this task's own future instead (its exceptions and bounds applied)"),
    from_time: isoInstant.optional()
      .describe("List runs strictly after this instant (default: now); the interval anchor"),
    count: z.int().min(1).max(MAX_PREVIEW_COUNT).default(10).describe("How many runs to list"),
  });

const PreviewResult = z.strictObject({ runs: z.array(isoInstant) });

const ValidateResult = z.strictObject({
  valid: z.boolean(),
  error: z.string().nullable(),
  field: z.string().nullable(),
  description: z.string().nullable(),
});

/** Registers `schedules.preview` and `schedules.validate`; with `tasks`, previews by task too. */
export function registerScheduleMethods(registry: MethodRegistry, tasks?: TaskService): void {
  registry.register({
    name: "schedules.preview",
    summary: "Lists the next runs of a schedule, or of a task (task_id)",
    params: PreviewParams,
    result: PreviewResult,
    async handler(params, ctx): Promise<z.input<typeof PreviewResult> | DomainError> {
      if (params.task_id !== undefined) {
        if (tasks === undefined) {
          return new DomainError("not_found", "This service holds no tasks", "task_id");
        }
        const runs = await tasks.preview(params.task_id, params.count);
        return isDomainError(runs) ? runs : { runs: runs.map(formatInstant) };
      }
      for (const field of ["schedule_type", "schedule_expression"] as const) {
        if (params[field] === undefined) {
          return new DomainError("invalid_params", `${field} (or task_id) is required`, field);
        }
      }
      const from = params.from_time === undefined
        ? ctx.receivedAt
        : parseInstant(params.from_time, "from_time");
      if (isDomainError(from)) return from;
      // A preview has no enable time, so an interval without a start counts from from_time.
      const schedule = readSchedule(params as z.output<typeof ScheduleParams>, from);
      if (isDomainError(schedule)) return schedule;
      return { runs: nextRuns(schedule, from, { count: params.count }).map(formatInstant) };
    },
  });

  registry.register({
    name: "schedules.validate",
    summary: "Checks a schedule and describes it, or reports the field at fault",
    params: ScheduleParams,
    result: ValidateResult,
    handler(params): z.input<typeof ValidateResult> | DomainError {
      const schedule = readSchedule(params);
      if (!isDomainError(schedule)) {
        return { valid: true, error: null, field: null, description: describeSchedule(schedule) };
      }
      // An invalid schedule is this method's answer, not a failure of the call.
      if (schedule.code !== "invalid_schedule") return schedule;
      return {
        valid: false,
        error: schedule.message,
        field: schedule.field ?? null,
        description: null,
      };
    },
  });
}

function readSchedule(
  params: z.output<typeof ScheduleParams>,
  anchor?: number,
): Schedule | DomainError {
  const startAt = readOptionalInstant(params.schedule_start_at, "schedule_start_at");
  if (isDomainError(startAt)) return startAt;
  const endAt = readOptionalInstant(params.schedule_end_at, "schedule_end_at");
  if (isDomainError(endAt)) return endAt;
  return parseSchedule({
    type: params.schedule_type,
    expression: params.schedule_expression,
    timezone: params.schedule_timezone,
    startAt,
    endAt,
    maxRuns: params.max_runs ?? null,
    dstPolicy: params.dst_policy ?? null,
    anchor: anchor ?? null,
  });
}

function readOptionalInstant(
  text: string | null | undefined,
  field: string,
): number | null | DomainError {
  return text === null || text === undefined ? null : parseInstant(text, field);
}
