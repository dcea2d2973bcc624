/** The calendar methods: the iCalendar export and the subscription feed's token. */
import { z } from "zod";
import { type CalendarFeeds, DEFAULT_FEED_TOKEN_DAYS } from "../../calendar/feeds.ts";
import { buildFeed, DEFAULT_EVENT_MINUTES } from "../../calendar/ical.ts";
import { DomainError } from "../../domain/errors.ts";
import { SCHEDULE_TYPES } from "../../domain/schedule/mod.ts";
import { ownerFilter } from "../auth.ts";
import type { MethodRegistry } from "../jsonrpc.ts";
import { PageLimit, text } from "../wire.ts";

const ExportParams = z.strictObject({
  user_id: text(128).pipe(z.string().min(1)).nullish(),
  schedule_type: z.enum(SCHEDULE_TYPES).nullish(),
  enabled_only: z.boolean().default(true),
  limit: PageLimit,
  calendar_name: text(256).pipe(z.string().min(1))
    // ical-generator writes the name as given: a line break would add properties to the feed.
    .refine(
      (name) => [...name].every((char) => char >= " " && char !== "\u007f"),
      "Must not contain control characters",
    )
    .default("Chronolog"),
  duration_minutes: z.int().min(1).max(1440).default(DEFAULT_EVENT_MINUTES)
    .describe("How long each event lasts in calendars"),
  base_url: z.url({ protocol: /^https?$/, error: "Expected an http or https URL" }).max(2048)
    .nullish().describe(
      "The service's public URL: each event links to its task (default CHRONOLOG_PUBLIC_URL, " +
        "else the request's origin)",
    ),
});

const DAY_MS = 86_400_000;

/** Registers tasks.scheduled.export-ical and the feed token methods. */
export function registerCalendarMethods(registry: MethodRegistry, feeds: CalendarFeeds): void {
  registry.register({
    name: "tasks.scheduled.export-ical",
    summary: "The scheduled tasks as an iCalendar feed whose recurrences are their schedules",
    params: ExportParams,
    result: z.strictObject({ ical_content: z.string(), task_count: z.int() }),
    async handler(params, ctx) {
      const userId = ownerFilter(ctx.caller, params.user_id);
      const options = {
        calendarName: params.calendar_name,
        baseUrl: params.base_url ?? feeds.publicUrl ?? ctx.origin ?? null,
        now: ctx.receivedAt,
        eventMinutes: params.duration_minutes,
      };
      // A user asking for another user's tasks gets an empty calendar.
      const feed = userId === undefined ? buildFeed([], options) : await feeds.export({
        ...options,
        userId,
        scheduleType: params.schedule_type ?? null,
        enabledOnly: params.enabled_only,
        limit: params.limit,
      });
      return { ical_content: feed.content, task_count: feed.taskCount };
    },
  });

  registry.register({
    name: "tasks.scheduled.rotate-feed-token",
    summary: "A new token for the caller's calendar feed (GET /calendar.ics?token=…); the old " +
      "one stops working. An admin's token shows every task.",
    params: z.strictObject({
      expires_in_days: z.int().min(1).max(3650).default(DEFAULT_FEED_TOKEN_DAYS)
        .describe("How long the token opens the feed"),
    }),
    result: z.strictObject({
      token: z.string(),
      path: z.string(),
      url: z.string().nullable().describe(
        "The feed's address: CHRONOLOG_PUBLIC_URL, else the request's origin, and the path",
      ),
      expires_at: z.string(),
    }),
    async handler(params, ctx) {
      const expiresAt = ctx.receivedAt + params.expires_in_days * DAY_MS;
      const token = await feeds.rotate(
        { userId: ctx.caller.user, admin: ctx.caller.admin },
        expiresAt,
      );
      const path = `/calendar.ics?token=${token}`;
      const base = feeds.publicUrl ?? ctx.origin ?? null;
      return {
        token,
        path,
        url: base === null ? null : `${base}${path}`,
        expires_at: new Date(expiresAt).toISOString(),
      };
    },
  });

  registry.register({
    name: "tasks.scheduled.revoke-feed-token",
    summary: "Ends a calendar feed token at once: the caller's own, or (admins) a user's",
    params: z.strictObject({
      user_id: text(128).pipe(z.string().min(1)).nullish()
        .describe("Whose token (admins only; default the caller)"),
    }),
    result: z.strictObject({ revoked: z.boolean() }),
    async handler(params, ctx) {
      const userId = params.user_id ?? ctx.caller.user;
      if (!ctx.caller.admin && userId !== ctx.caller.user) {
        return new DomainError(
          "forbidden",
          "Only admins revoke other users' feed tokens",
          "user_id",
        );
      }
      return { revoked: await feeds.revoke(userId) };
    },
  });
}
