/**
 * Calendar feeds of tasks: the iCalendar export (`tasks.scheduled.export-ical`) and the
 * subscription feed (`GET /calendar.ics?token=…`) whose per-user token stands in for the JWT
 * calendar apps cannot send. Tokens are 256 random bits, kept only as their SHA-256; rotating
 * one makes the old one useless at once, revoking leaves none, and each expires.
 */
import type { ScheduleType } from "../domain/schedule/mod.ts";
import type { TaskService } from "../runtime/tasks.ts";
import type { EventStore } from "../store/event_store.ts";
import { buildFeed, type Feed, FeedCache } from "./ical.ts";

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

/** How long a feed token opens its feed unless its owner asks otherwise, days. */
export const DEFAULT_FEED_TOKEN_DAYS = 365;

type TokenStore = Pick<EventStore, "setFeedToken" | "feedTokenOwner" | "deleteFeedToken">;

/** Builds feeds and keeps their tokens. */
export class CalendarFeeds {
  readonly #store: TokenStore;
  readonly #tasks: TaskService;
  readonly #cache = new FeedCache();
  /**
   * The service's public URL (CHRONOLOG_PUBLIC_URL), without a trailing slash: feed links and
   * event URLs use it; null when unset (the request's own origin stands in).
   */
  readonly publicUrl: string | null;

  constructor(store: TokenStore, tasks: TaskService, options: { publicUrl?: string | null } = {}) {
    this.#store = store;
    this.#tasks = tasks;
    this.publicUrl = options.publicUrl?.replace(/\/+$/, "") ?? null;
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
    }, this.#cache);
  }

  /** A new feed token for the owner, valid until `expiresAt`; the one they had stops working. */
  async rotate(owner: FeedOwner, expiresAt: number): Promise<string> {
    const token = base64url(crypto.getRandomValues(new Uint8Array(32)));
    await this.#store.setFeedToken(owner, await sha256(token), expiresAt);
    return token;
  }

  /** Ends the user's feed token (null: the operator's); false when there was none. */
  async revoke(userId: string | null): Promise<boolean> {
    return await this.#store.deleteFeedToken(userId);
  }

  /** Whose feed a token opens, or null (unknown, rotated away, revoked or expired). */
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
