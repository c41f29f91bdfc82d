/**
 * Download progress: a redrawn bar (bytes, rate, ETA) on a terminal, plain
 * periodic lines otherwise (CI logs), nothing when disabled.
 *
 * @module
 */
import { host } from "../../host/mod.ts";

export interface Progress {
  /** `done` bytes of `total` (null: unknown length). */
  update(done: number, total: number | null): void;
  finish(done: number): void;
}

const MiB = 1024 * 1024;

/** Human size in binary units, one decimal. */
export function formatBytes(n: number): string {
  if (n >= 1024 * MiB) return `${(n / (1024 * MiB)).toFixed(1)} GiB`;
  if (n >= MiB) return `${(n / MiB).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} B`;
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "--:--";
  const s = Math.round(seconds);
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, "0")}`;
}

/** A progress reporter for `label` writing to stderr. */
export function createProgress(
  label: string,
  opts: { enabled: boolean; tty?: boolean; write?: (s: string) => void; startAt?: number },
): Progress {
  if (!opts.enabled) return { update() {}, finish() {} };
  const enc = new TextEncoder();
  const write = opts.write ?? ((s: string) => host.stderr.writeSync(enc.encode(s)));
  const tty = opts.tty ?? safeIsTty();
  const t0 = performance.now();
  const base = opts.startAt ?? 0;
  let last = -Infinity;
  const line = (done: number, total: number | null) => {
    const secs = Math.max((performance.now() - t0) / 1000, 0.001);
    const rate = (done - base) / secs;
    if (total) {
      const pct = Math.min(100, (done / total) * 100);
      const width = 24;
      const fill = Math.round((pct / 100) * width);
      const bar = tty ? `[${"#".repeat(fill)}${" ".repeat(width - fill)}] ` : "";
      return `${label} ${bar}${pct.toFixed(0).padStart(3)}% ${formatBytes(done)} / ${
        formatBytes(total)
      } ${formatBytes(rate)}/s ETA ${formatEta((total - done) / rate)}`;
    }
    return `${label} ${formatBytes(done)} ${formatBytes(rate)}/s`;
  };
  return {
    update(done, total) {
      const now = performance.now();
      if (now - last < (tty ? 200 : 5_000)) return;
      last = now;
      write(tty ? `\r\x1b[K${line(done, total)}` : `${line(done, total)}\n`);
    },
    finish(done) {
      write(tty ? `\r\x1b[K${line(done, done)}\n` : `${line(done, done)}\n`);
    },
  };
}

function safeIsTty(): boolean {
  try {
    return host.stderr.isTerminal();
  } catch {
    return false;
  }
}
