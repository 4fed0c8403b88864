/**
 * Hybrid logical clock stamps, exactly as the server writes them:
 * `<16-digit milliseconds>-<4-digit counter>-<node id>`. Plain string comparison orders stamps.
 */

const STAMP = /^(\d{16})-(\d{4})-([A-Za-z0-9._:~-]{1,64})$/;
const MAX_COUNTER = 9999;

export interface Stamp {
  ms: number;
  counter: number;
  node: string;
}

export function formatStamp(ms: number, counter: number, node: string): string {
  return `${String(ms).padStart(16, "0")}-${String(counter).padStart(4, "0")}-${node}`;
}

/** Parses a stamp; returns `undefined` for anything else. */
export function parseStamp(text: string): Stamp | undefined {
  const m = STAMP.exec(text);
  if (!m) return undefined;
  return { ms: Number(m[1]), counter: Number(m[2]), node: m[3]! };
}

export function isValidNodeId(node: string): boolean {
  return /^[A-Za-z0-9._:~-]{1,64}$/.test(node);
}

/**
 * The device's clock. `now()` issues a stamp later than every stamp it issued or observed;
 * `observe()` is the HLC receive rule, called with every `server_hlc` the server sends, so a phone
 * whose wall clock is behind catches up at its first sync.
 */
export class HybridClock {
  private ms = 0;
  private counter = 0;

  constructor(
    readonly node: string,
    private readonly wallMs: () => number = () => Date.now(),
  ) {
    if (!isValidNodeId(node)) throw new Error(`invalid HLC node id: ${node}`);
  }

  now(): string {
    const wall = Math.floor(this.wallMs());
    if (wall > this.ms) {
      this.ms = wall;
      this.counter = 0;
    } else if (this.counter >= MAX_COUNTER) {
      this.ms += 1;
      this.counter = 0;
    } else {
      this.counter += 1;
    }
    return formatStamp(this.ms, this.counter, this.node);
  }

  observe(stamp: string): void {
    const s = parseStamp(stamp);
    if (!s) return;
    if (s.ms > this.ms || (s.ms === this.ms && s.counter > this.counter)) {
      this.ms = s.ms;
      this.counter = s.counter;
    }
  }

  /** The last stamp issued or observed (persisted so that a restart never goes back in time). */
  last(): string {
    return formatStamp(this.ms, this.counter, this.node);
  }
}
