/**
 * Where provisioning output goes: the terminal (live, optionally prefixed
 * with the VM name line by line) and provision.log (appended, 0600, a header
 * and a footer per step).
 *
 * @module
 */
import { host } from "../../host/mod.ts";
import type { HostFile } from "../../host/mod.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Writes guest output to stdout/stderr as it arrives. With a prefix, output
 * is cut into lines so `name | ` starts every line even when chunks split them.
 */
export class LineSink {
  #partial: Record<"out" | "err", string> = { out: "", err: "" };
  constructor(
    readonly prefix?: string,
    readonly write: (fd: "out" | "err", bytes: Uint8Array) => void = writeStd,
  ) {}

  stdout(chunk: Uint8Array): void {
    this.#emit("out", chunk);
  }
  stderr(chunk: Uint8Array): void {
    this.#emit("err", chunk);
  }
  /** One progress line from vmctl itself (stdout). */
  info(line: string): void {
    this.write("out", encoder.encode(this.prefix ? `${this.prefix} | ${line}\n` : `${line}\n`));
  }
  /** Print what is left of unterminated lines. */
  flush(): void {
    for (const fd of ["out", "err"] as const) {
      if (this.#partial[fd] !== "") {
        this.write(fd, encoder.encode(`${this.prefix} | ${this.#partial[fd]}\n`));
        this.#partial[fd] = "";
      }
    }
  }

  #emit(fd: "out" | "err", chunk: Uint8Array): void {
    if (!this.prefix) return this.write(fd, chunk);
    const text = this.#partial[fd] + decoder.decode(chunk, { stream: true });
    const lines = text.split("\n");
    this.#partial[fd] = lines.pop()!;
    if (lines.length) {
      this.write(fd, encoder.encode(lines.map((l) => `${this.prefix} | ${l}\n`).join("")));
    }
  }
}

function writeStd(fd: "out" | "err", bytes: Uint8Array): void {
  const stream = fd === "out" ? host.stdout : host.stderr;
  let off = 0;
  while (off < bytes.length) off += stream.writeSync(bytes.subarray(off));
}

/** provision.log of one VM, appended to; created 0600. */
export class ProvisionLog {
  private constructor(readonly path: string, private file: HostFile) {}

  static async open(path: string): Promise<ProvisionLog> {
    const file = await host.open(path, { append: true, create: true, mode: 0o600 });
    return new ProvisionLog(path, file);
  }

  /** `=== <time> step n/total: label ===` */
  async header(n: number, total: number, label: string): Promise<void> {
    await this.#line(`=== ${new Date().toISOString()} step ${n}/${total}: ${label} ===`);
  }

  async footer(n: number, code: number, secs: string): Promise<void> {
    await this.#line(`=== step ${n} exited with code ${code} after ${secs} s ===`);
  }

  /** Raw guest output, written synchronously so it interleaves as it arrived. */
  write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) off += this.file.writeSync(bytes.subarray(off));
    this.#lastByte = bytes.length ? bytes[bytes.length - 1] : this.#lastByte;
  }

  close(): void {
    try {
      this.file.close();
    } catch { /* closed */ }
  }

  #lastByte = 10;
  async #line(text: string): Promise<void> {
    const lead = this.#lastByte === 10 ? "" : "\n";
    await this.file.write(encoder.encode(`${lead}${text}\n`));
    this.#lastByte = 10;
  }
}
