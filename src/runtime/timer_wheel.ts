/**
 * The timer wheel: every enabled task's next run, as a hierarchical timing wheel (Varghese &
 * Lauck 1987; the design of Kafka's TimingWheel and the Linux kernel timers).
 *
 * Time is counted in ticks (`tickMs`, 1 ms by default) since the epoch. Level k has 64 slots of
 * 64^k ticks each, so seven levels cover 64^7 ticks (139 years at 1 ms); a timer sits at the
 * level of the highest base-64 digit in which its due tick differs from the wheel's time, and
 * moves down (cascades) when the wheel's time reaches its slot, until it lands in the due list.
 * Timers beyond the top level wait in an overflow list that is re-placed once per top-level span.
 *
 * A timer is a few numbers in typed arrays (due time, its two list links, its slot) and an
 * entry in one `Map` from id to entry, never a closure: a million of them fit in tens of MB.
 * Slots are intrusive doubly-linked lists over those arrays, so insert, move and cancel are O(1)
 * without searching, and a bitmap per level finds the earliest occupied slot without scanning.
 */

/** Slots per level: 64, so a level's bitmap is two 32-bit words. */
const SLOTS = 64;
/** Levels of the wheel; 64^7 ticks is 139 years at 1 ms ticks. */
const LEVELS = 7;
/** SPANS[k]: the ticks one slot of level k spans; SPANS[LEVELS] is the whole wheel. */
const SPANS: readonly number[] = Array.from({ length: LEVELS + 1 }, (_, k) => SLOTS ** k);
/** Timers due beyond the top level's current span. */
const OVERFLOW = LEVELS * SLOTS;
/**
 * Two due lists taking turns: an advance delivers one while timers falling due meanwhile (from
 * the callbacks) join the other, so they wait for the next advance instead of looping in this
 * one.
 */
const DUE_A = OVERFLOW + 1;
const DUE_B = OVERFLOW + 2;
const BUCKETS = OVERFLOW + 3;
/** "No entry" in the list links. */
const NONE = -1;
/** setTimeout fires after 1 ms (with a warning) when the delay does not fit in an int32. */
const MAX_DELAY_MS = 2 ** 31 - 1;
const INITIAL_CAPACITY = 1024;

/** Options of a timer wheel; only `onDue` is required. */
export interface TimerWheelOptions {
  /**
   * Called once per timer that falls due, in due order (ties in the order they were scheduled).
   * It may schedule and cancel timers. An error it throws propagates from `advance` (from the
   * runtime timer's callback once started: an uncaught error), and the timers not yet delivered
   * fire at the next advance.
   */
  onDue: (id: string, dueAt: number) => void;
  /** The wheel's resolution in ms (default 1): a timer fires at its due time rounded up to it. */
  tickMs?: number;
  /** The clock, epoch ms (default `Date.now`, the clock task due times are computed against). */
  now?: () => number;
  /** Arms the runtime timer and returns its handle (default `setTimeout`). */
  setTimer?: (callback: () => void, delayMs: number) => unknown;
  /** Disarms the runtime timer `setTimer` returned (default `clearTimeout`). */
  clearTimer?: (handle: unknown) => void;
}

/** Timers keyed by id, each due at an epoch ms; fires them through one runtime timer. */
export class TimerWheel {
  readonly #onDue: (id: string, dueAt: number) => void;
  readonly #tickMs: number;
  readonly #now: () => number;
  readonly #setTimer: (callback: () => void, delayMs: number) => unknown;
  readonly #clearTimer: (handle: unknown) => void;

  /** Id to entry: an index into the arrays below. */
  readonly #entries = new Map<string, number>();
  #ids: string[] = [];
  #dueAt = new Float64Array(INITIAL_CAPACITY);
  #next = new Int32Array(INITIAL_CAPACITY);
  #prev = new Int32Array(INITIAL_CAPACITY);
  /** Which list an entry is in: level * SLOTS + slot, OVERFLOW, DUE_A or DUE_B. */
  #bucket = new Uint16Array(INITIAL_CAPACITY);
  /** Entries ever handed out; released ones are chained through `#next` from `#free`. */
  #used = 0;
  #free = NONE;

  readonly #heads = new Int32Array(BUCKETS).fill(NONE);
  readonly #tails = new Int32Array(BUCKETS).fill(NONE);
  /** Per level, two words: bit s set when slot s is not empty. */
  readonly #occupied = new Int32Array(LEVELS * 2);

  /** The wheel's time in ticks: every timer due at or before it is in the due list. */
  #tick = 0;
  /** #quotients[k] = floor(#tick / SPANS[k]): the wheel's time in each level's slots. */
  readonly #quotients = new Float64Array(LEVELS + 1);
  /** The due list new due timers join. */
  #due = DUE_A;
  /** Whether the due list is in due order; it is unless a timer joined behind a later one. */
  #dueSorted = true;
  #dueLast = -Infinity;
  /** The earliest due tick in the overflow list; NaN when a cancel may have removed it. */
  #overflowMin = Infinity;

  #advancing = false;
  #running = false;
  /** Whatever `setTimer` returned for the armed runtime timer. */
  #handle: unknown = null;
  /** When the armed runtime timer wakes, epoch ms; Infinity when none is armed. */
  #armedAt = Infinity;

  constructor(options: TimerWheelOptions) {
    const tickMs = options.tickMs ?? 1;
    if (!(tickMs > 0 && Number.isFinite(tickMs))) {
      throw new RangeError(`The tick must be a positive number of ms, got ${tickMs}`);
    }
    this.#onDue = options.onDue;
    this.#tickMs = tickMs;
    this.#now = options.now ?? Date.now;
    this.#setTimer = options.setTimer ?? ((callback, delayMs) => setTimeout(callback, delayMs));
    this.#clearTimer = options.clearTimer ??
      ((handle) => clearTimeout(handle as ReturnType<typeof setTimeout>));
    this.#setTick(Math.floor(this.#now() / tickMs));
  }

  /** How many timers are pending. */
  get size(): number {
    return this.#entries.size;
  }

  /** Whether a timer with this id is pending. */
  has(id: string): boolean {
    return this.#entries.has(id);
  }

  /** The pending timer's due time (epoch ms), or null when there is none. */
  dueAt(id: string): number | null {
    const entry = this.#entries.get(id);
    return entry === undefined ? null : this.#dueAt[entry];
  }

  /** Sets the timer `id` to fire at `dueAt` (epoch ms), moving it if it was pending. */
  schedule(id: string, dueAt: number): void {
    if (!Number.isFinite(dueAt)) {
      throw new RangeError(`The due time of timer ${id} must be a finite number, got ${dueAt}`);
    }
    let entry = this.#entries.get(id);
    if (entry === undefined) {
      entry = this.#allocate(id);
      this.#entries.set(id, entry);
    } else {
      this.#unlink(entry);
    }
    this.#dueAt[entry] = dueAt;
    const bucket = this.#place(entry);
    // During an advance the wheel arms once at the end instead.
    if (this.#running && !this.#advancing && this.#wakeAt(bucket) < this.#armedAt) this.#arm();
  }

  /** Cancels the timer `id`; false when no such timer was pending. */
  cancel(id: string): boolean {
    const entry = this.#entries.get(id);
    if (entry === undefined) return false;
    this.#unlink(entry);
    this.#entries.delete(id);
    this.#release(entry);
    return true;
  }

  /**
   * Fires every timer due up to `now` (default: the clock), in due order, cascading the higher
   * levels as their slots come due; returns how many fired. Time never runs backwards: an
   * earlier `now` than a previous advance fires only timers scheduled in the past since.
   */
  advance(now: number = this.#now()): number {
    if (this.#advancing) throw new Error("TimerWheel.advance was called from a due callback");
    if (Number.isNaN(now)) throw new RangeError("The time to advance to must be a number, got NaN");
    this.#advancing = true;
    try {
      this.#collect(Math.floor(now / this.#tickMs));
      return this.#deliver();
    } finally {
      this.#advancing = false;
      this.#arm();
    }
  }

  /** Fires timers as they fall due, through one runtime timer armed for the earliest slot. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#arm();
  }

  /** Disarms the runtime timer; pending timers stay and fire after `start` or `advance`. */
  stop(): void {
    this.#running = false;
    this.#disarm();
  }

  /** Moves the wheel's time up to `target`, bringing every timer due by then into the due list. */
  #collect(target: number): void {
    for (;;) {
      const bucket = this.#earliestBucket();
      if (bucket === NONE) break;
      const start = this.#bucketStart(bucket);
      if (start > target) break;
      // Nothing is due before this slot starts (it is the earliest), so the wheel's time can
      // jump there; its timers then belong to a lower level or are due.
      this.#setTick(start);
      let entry = this.#heads[bucket];
      this.#heads[bucket] = NONE;
      this.#tails[bucket] = NONE;
      if (bucket === OVERFLOW) this.#overflowMin = Infinity;
      else this.#occupied[bucket >> 5] &= ~(1 << (bucket & 31));
      while (entry !== NONE) {
        const following = this.#next[entry];
        this.#place(entry);
        entry = following;
      }
    }
    // Jumping to a time before the earliest slot keeps every timer at its level: each higher
    // digit of the time is unchanged.
    if (target > this.#tick) this.#setTick(target);
  }

  /** Delivers the due list, in due order; returns how many fired. */
  #deliver(): number {
    const firing = this.#due;
    if (this.#heads[firing] === NONE) return 0;
    if (!this.#dueSorted) this.#sortDue();
    this.#due = firing === DUE_A ? DUE_B : DUE_A;
    this.#dueSorted = true;
    this.#dueLast = -Infinity;
    let fired = 0;
    try {
      for (let entry = this.#heads[firing]; entry !== NONE; entry = this.#heads[firing]) {
        this.#unlink(entry);
        const id = this.#ids[entry];
        const dueAt = this.#dueAt[entry];
        this.#entries.delete(id);
        this.#release(entry);
        fired++;
        this.#onDue(id, dueAt);
      }
    } finally {
      if (this.#heads[firing] !== NONE) this.#requeue(firing);
    }
    return fired;
  }

  /** Puts the undelivered rest of a due list (a callback threw) before the current due list. */
  #requeue(firing: number): void {
    const due = this.#due;
    for (let entry = this.#heads[firing]; entry !== NONE; entry = this.#next[entry]) {
      this.#bucket[entry] = due;
    }
    if (this.#heads[due] === NONE) {
      this.#tails[due] = this.#tails[firing];
    } else {
      this.#next[this.#tails[firing]] = this.#heads[due];
      this.#prev[this.#heads[due]] = this.#tails[firing];
    }
    this.#heads[due] = this.#heads[firing];
    this.#heads[firing] = NONE;
    this.#tails[firing] = NONE;
    this.#dueSorted = false;
  }

  /** Relinks the due list in due order; the sort is stable, so ties keep their order. */
  #sortDue(): void {
    const due = this.#due;
    const entries: number[] = [];
    for (let entry = this.#heads[due]; entry !== NONE; entry = this.#next[entry]) {
      entries.push(entry);
    }
    const dueAt = this.#dueAt;
    entries.sort((a, b) => dueAt[a] - dueAt[b]);
    this.#heads[due] = NONE;
    this.#tails[due] = NONE;
    for (const entry of entries) this.#append(entry, due);
  }

  /** Links the entry into the list its due tick belongs to now; returns that list. */
  #place(entry: number): number {
    const dueAt = this.#dueAt[entry];
    // Rounded up, so that a timer never fires before its due time.
    const tick = Math.ceil(dueAt / this.#tickMs);
    if (tick <= this.#tick) {
      const due = this.#due;
      if (dueAt < this.#dueLast) this.#dueSorted = false;
      else this.#dueLast = dueAt;
      this.#append(entry, due);
      return due;
    }
    const quotients = this.#quotients;
    let below = tick;
    for (let level = 0; level < LEVELS; level++) {
      const above = Math.floor(tick / SPANS[level + 1]);
      if (above === quotients[level + 1]) {
        const bucket = level * SLOTS + (below - above * SLOTS);
        this.#append(entry, bucket);
        this.#occupied[bucket >> 5] |= 1 << (bucket & 31);
        return bucket;
      }
      below = above;
    }
    if (tick < this.#overflowMin) this.#overflowMin = tick;
    this.#append(entry, OVERFLOW);
    return OVERFLOW;
  }

  #append(entry: number, bucket: number): void {
    const tail = this.#tails[bucket];
    this.#prev[entry] = tail;
    this.#next[entry] = NONE;
    if (tail === NONE) this.#heads[bucket] = entry;
    else this.#next[tail] = entry;
    this.#tails[bucket] = entry;
    this.#bucket[entry] = bucket;
  }

  #unlink(entry: number): void {
    const bucket = this.#bucket[entry];
    const prev = this.#prev[entry];
    const next = this.#next[entry];
    if (prev === NONE) this.#heads[bucket] = next;
    else this.#next[prev] = next;
    if (next === NONE) this.#tails[bucket] = prev;
    else this.#prev[next] = prev;
    if (bucket < OVERFLOW) {
      if (this.#heads[bucket] === NONE) {
        this.#occupied[bucket >> 5] &= ~(1 << (bucket & 31));
      }
    } else if (bucket === OVERFLOW) {
      this.#overflowMin = NaN;
    }
  }

  /** The first occupied slot of the lowest occupied level, or OVERFLOW, or NONE when empty. */
  #earliestBucket(): number {
    const occupied = this.#occupied;
    // Slots of a lower level all start before any occupied slot of a higher one: a timer sits
    // at a level only while the wheel's time has not reached that level's next slot.
    for (let word = 0; word < LEVELS * 2; word++) {
      const bits = occupied[word];
      if (bits !== 0) return word * 32 + (31 - Math.clz32(bits & -bits));
    }
    return this.#heads[OVERFLOW] === NONE ? NONE : OVERFLOW;
  }

  /** The tick at which a level's slot (or the overflow's earliest span) starts. */
  #bucketStart(bucket: number): number {
    if (bucket === OVERFLOW) {
      if (Number.isNaN(this.#overflowMin)) this.#overflowMin = this.#scanOverflow();
      return Math.floor(this.#overflowMin / SPANS[LEVELS]) * SPANS[LEVELS];
    }
    const level = Math.floor(bucket / SLOTS);
    const slot = bucket - level * SLOTS;
    return (this.#quotients[level + 1] * SLOTS + slot) * SPANS[level];
  }

  #scanOverflow(): number {
    let min = Infinity;
    for (let entry = this.#heads[OVERFLOW]; entry !== NONE; entry = this.#next[entry]) {
      min = Math.min(min, Math.ceil(this.#dueAt[entry] / this.#tickMs));
    }
    return min;
  }

  /** When the wheel must wake for a list, epoch ms: -Infinity for the due list (at once). */
  #wakeAt(bucket: number): number {
    if (bucket === DUE_A || bucket === DUE_B) return -Infinity;
    return this.#bucketStart(bucket) * this.#tickMs;
  }

  #setTick(tick: number): void {
    this.#tick = tick;
    for (let level = 0; level <= LEVELS; level++) {
      this.#quotients[level] = Math.floor(tick / SPANS[level]);
    }
  }

  /** Arms the runtime timer for the earliest non-empty list, unless it already wakes earlier. */
  #arm(): void {
    if (!this.#running || this.#advancing) return;
    let wakeAt = -Infinity;
    if (this.#heads[this.#due] === NONE) {
      const bucket = this.#earliestBucket();
      if (bucket === NONE) {
        this.#disarm();
        return;
      }
      wakeAt = this.#wakeAt(bucket);
    }
    if (this.#armedAt !== Infinity) {
      // A wake earlier than needed costs one empty advance; re-arming whenever a timer is
      // scheduled later than the armed wake would cost a clearTimeout and a setTimeout each.
      if (this.#armedAt <= wakeAt) return;
      this.#clearTimer(this.#handle);
    }
    const now = this.#now();
    const delay = Math.min(Math.max(wakeAt - now, 0), MAX_DELAY_MS);
    this.#armedAt = Math.min(wakeAt, now + MAX_DELAY_MS);
    this.#handle = this.#setTimer(this.#wake, delay);
  }

  #disarm(): void {
    if (this.#armedAt !== Infinity) this.#clearTimer(this.#handle);
    this.#handle = null;
    this.#armedAt = Infinity;
  }

  /** The runtime timer's callback: reads the clock, so a late wake fires all that fell due. */
  readonly #wake = (): void => {
    this.#handle = null;
    this.#armedAt = Infinity;
    this.advance();
  };

  #allocate(id: string): number {
    let entry = this.#free;
    if (entry !== NONE) {
      this.#free = this.#next[entry];
    } else {
      if (this.#used === this.#dueAt.length) this.#grow();
      entry = this.#used++;
    }
    this.#ids[entry] = id;
    return entry;
  }

  #release(entry: number): void {
    // Drop the id so a cancelled task's id can be collected.
    this.#ids[entry] = "";
    this.#next[entry] = this.#free;
    this.#free = entry;
  }

  #grow(): void {
    const capacity = this.#dueAt.length * 2;
    this.#dueAt = grown(this.#dueAt, new Float64Array(capacity));
    this.#next = grown(this.#next, new Int32Array(capacity));
    this.#prev = grown(this.#prev, new Int32Array(capacity));
    this.#bucket = grown(this.#bucket, new Uint16Array(capacity));
  }
}

function grown<T extends Float64Array | Int32Array | Uint16Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
