/**
 * Leveled logging to stderr, controlled by VMCTL_LOG (error|warn|info|debug|trace).
 *
 * @module
 */
import { env } from "./paths.ts";
import { host } from "../host/mod.ts";

export type LogLevel = "error" | "warn" | "info" | "debug" | "trace";
const ORDER: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3, trace: 4 };

/** The configured level (default info; an unknown value falls back to info). */
export function logLevel(): LogLevel {
  let v = "info";
  try {
    v = (env("VMCTL_LOG") ?? "info").toLowerCase();
  } catch {
    // logging must work even when --allow-env is withheld; the command reports that itself.
  }
  return v in ORDER ? (v as LogLevel) : "info";
}

/** True when messages at `level` are printed. */
export function enabled(level: LogLevel): boolean {
  return ORDER[level] <= ORDER[logLevel()];
}

const encoder = new TextEncoder();
function emit(level: LogLevel, msg: string): void {
  if (!enabled(level)) return;
  const prefix = level === "info" ? "" : `${level}: `;
  host.stderr.writeSync(encoder.encode(`${prefix}${msg}\n`));
}

export const log = {
  error: (m: string) => emit("error", m),
  warn: (m: string) => emit("warn", m),
  info: (m: string) => emit("info", m),
  debug: (m: string) => emit("debug", m),
  trace: (m: string) => emit("trace", m),
};
