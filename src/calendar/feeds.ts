/**
 * Calendar feeds of tasks: the iCalendar export (`tasks.scheduled.export-ical`) and the
 * subscription feed (`GET /calendar.ics?token=…`) whose per-user token stands in for the JWT
 * calendar apps cannot send. Tokens are 256 random bits, kept only as their SHA-256; rotating
 * one makes the old one useless at once.
 */
import type { ScheduleType } from "../domain/schedule/mod.ts";
import type { TaskService } from "../runtime/tasks.ts";
import type { EventStore } from "../store/event_store.ts";
import { buildFeed, type Feed } from "./ical.ts";

/** Who a feed is for: a user sees their own tasks, an admin (or the operator) every task. */
export interface FeedOwner {
  userId: string | null;
  admin: boolean;
}

/** Which tasks a feed shows and how it is labelled; `now` starts each task's window. */
export interface FeedQuery {
  now: number;
  /** Only this user's tasks (null: every task the owner may see). */
  userId: string | null;
  scheduleType: ScheduleType | null;
  enabledOnly: boolean;
  limit: number;
  calendarName: string;
  baseUrl: string | null;
  /** DTEND − DTSTART of each event, minutes. */
  eventMinutes?: number;
}

/** Builds feeds and keeps their tokens. */
export class CalendarFeeds {
  readonly #store: Pick<EventStore, "setFeedToken" | "feedTokenOwner">;
  readonly #tasks: TaskService;

  constructor(store: Pick<EventStore, "setFeedToken" | "feedTokenOwner">, tasks: TaskService) {
    this.#store = store;
    this.#tasks = tasks;
  }

  /** The feed of the tasks the query names (already limited to what the caller may see). */
  async export(query: FeedQuery): Promise<Feed> {
    const page = await this.#tasks.list({
      userId: query.userId,
      scheduleType: query.scheduleType,
      scheduledOnly: true,
      enabledOnly: query.enabledOnly,
      limit: query.limit,
      offset: 0,
    });
    return buildFeed(page.tasks, {
      calendarName: query.calendarName,
      baseUrl: query.baseUrl,
      now: query.now,
      eventMinutes: query.eventMinutes,
    });
  }

  /** A new feed token for the owner; the one they had stops working. */
  async rotate(owner: FeedOwner): Promise<string> {
    const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
    await this.#store.setFeedToken(owner, await sha256(token));
    return token;
  }

  /** Whose feed a token opens, or null. */
  async owner(token: string): Promise<FeedOwner | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) return null;
    return await this.#store.feedTokenOwner(await sha256(token));
  }
}

async function sha256(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function base64url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}
