/**
 * The host layer on Node.js built-ins (Node 20 and later): what the Node
 * build (dist/vmctl.mjs) and the single executable run on, illumos first.
 *
 * @module
 */
import * as childProcess from "node:child_process";
import * as fs from "node:fs";
import * as fsp from "node:fs/promises";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import process from "node:process";
import { Readable, Writable } from "node:stream";
import { pathToFileURL } from "node:url";
import type {
  Child,
  ChildStatus,
  Conn,
  DirEntry,
  FileInfo,
  Host,
  HostFile,
  HostOs,
  OpenOptions,
  Signal,
  SpawnOptions,
  Stdio,
  StdStream,
} from "./types.ts";

function info(s: fs.Stats): FileInfo {
  return {
    isFile: s.isFile(),
    isDirectory: s.isDirectory(),
    isSymlink: s.isSymbolicLink(),
    isSocket: s.isSocket(),
    size: s.size,
    mtime: s.mtime,
    mode: s.mode,
    uid: s.uid,
  };
}

function entry(e: fs.Dirent): DirEntry {
  return {
    name: e.name,
    isFile: e.isFile(),
    isDirectory: e.isDirectory(),
    isSymlink: e.isSymbolicLink(),
  };
}

function openFlags(o: OpenOptions): number {
  const c = fs.constants;
  const writing = o.write || o.append;
  let flags = o.read && writing ? c.O_RDWR : writing ? c.O_WRONLY : c.O_RDONLY;
  if (o.append) flags |= c.O_APPEND;
  if (o.create || o.createNew) flags |= c.O_CREAT;
  if (o.createNew) flags |= c.O_EXCL;
  if (o.truncate) flags |= c.O_TRUNC;
  return flags;
}

/** An fd with Deno's file semantics: one position, moved by reads and writes. */
function file(fd: number, append: boolean): HostFile {
  let pos = 0;
  const at = () => (append ? null : pos);
  return {
    read: (buf) =>
      new Promise((resolve, reject) =>
        fs.read(fd, buf, 0, buf.length, pos, (err, n) => {
          if (err) return reject(err);
          pos += n;
          resolve(n === 0 && buf.length > 0 ? null : n);
        })
      ),
    readSync: (buf) => {
      const n = fs.readSync(fd, buf, 0, buf.length, pos);
      pos += n;
      return n === 0 && buf.length > 0 ? null : n;
    },
    write: (data) =>
      new Promise((resolve, reject) =>
        fs.write(fd, data, 0, data.length, at(), (err, n) => {
          if (err) return reject(err);
          pos += n;
          resolve(n);
        })
      ),
    writeSync: (data) => {
      const n = fs.writeSync(fd, data, 0, data.length, at());
      pos += n;
      return n;
    },
    seek: (offset) => {
      pos = offset;
      return Promise.resolve();
    },
    seekSync: (offset) => {
      pos = offset;
    },
    truncate: (len) =>
      new Promise((res, rej) => fs.ftruncate(fd, len ?? 0, (e) => e ? rej(e) : res())),
    // Node's permission model (`--permission`) disables fsync outright, whatever is granted:
    // there a write is atomic (rename) but not flushed, rather than impossible.
    sync: () =>
      new Promise((res, rej) =>
        fs.fsync(
          fd,
          (e) => e && (e as { code?: string }).code !== "ERR_ACCESS_DENIED" ? rej(e) : res(),
        )
      ),
    stat: () => new Promise((res, rej) => fs.fstat(fd, (e, s) => e ? rej(e) : res(info(s)))),
    get readable() {
      const stream = fs.createReadStream("", { fd, start: pos, autoClose: true });
      return Readable.toWeb(stream) as unknown as ReadableStream<Uint8Array>;
    },
    close: () => fs.closeSync(fd),
  };
}

/**
 * A pull reader over a Node stream: `read(buf)` takes what has arrived, waits
 * when nothing has, and gives null at the end.
 */
function pullReader(stream: NodeJS.ReadableStream): (buf: Uint8Array) => Promise<number | null> {
  let pending: Uint8Array[] = [];
  let ended = false;
  let failure: unknown;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };
  stream.on("data", (chunk: Uint8Array) => {
    pending.push(chunk);
    stream.pause();
    notify();
  });
  stream.on("end", () => {
    ended = true;
    notify();
  });
  stream.on("close", () => {
    ended = true;
    notify();
  });
  stream.on("error", (err) => {
    failure = err;
    notify();
  });
  stream.pause();
  return async (buf) => {
    while (pending.length === 0) {
      if (failure) throw failure;
      if (ended) return null;
      stream.resume();
      await new Promise<void>((r) => (wake = r));
    }
    const head = pending[0];
    const n = Math.min(buf.length, head.length);
    buf.set(head.subarray(0, n));
    if (n === head.length) pending = pending.slice(1);
    else pending[0] = head.subarray(n);
    return n;
  };
}

function socketConn(socket: net.Socket): Conn {
  const read = pullReader(socket);
  return {
    read,
    write: (data) =>
      new Promise((resolve, reject) =>
        socket.write(data, (err) => (err ? reject(err) : resolve(data.length)))
      ),
    close: () => {
      socket.destroy();
    },
  };
}

function connect(options: net.NetConnectOpts): Promise<Conn> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(options);
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socketConn(socket));
    });
  });
}

function stdio(s: Stdio | undefined): "pipe" | "inherit" | "ignore" {
  return s === "piped" ? "pipe" : s === "inherit" ? "inherit" : "ignore";
}

function exitStatus(code: number | null, signal: NodeJS.Signals | null): ChildStatus {
  // Deno reports a signalled child as 128 + the signal's number; so do we.
  const signo = signal ? os.constants.signals[signal] ?? 0 : 0;
  const c = code ?? 128 + signo;
  return { success: c === 0, code: c, signal: signal as Signal | null };
}

async function collect(stream: ReadableStream<Uint8Array> | null): Promise<Uint8Array> {
  if (!stream) return new Uint8Array();
  const parts: Uint8Array[] = [];
  for await (const chunk of stream) parts.push(chunk);
  return new Uint8Array(Buffer.concat(parts));
}

function child(c: childProcess.ChildProcess): Child {
  const toWeb = (s: NodeJS.ReadableStream | null) =>
    (s ? Readable.toWeb(s as Readable) : null) as unknown as ReadableStream<Uint8Array>;
  const stdout = toWeb(c.stdout);
  const stderr = toWeb(c.stderr);
  const status = new Promise<ChildStatus>((resolve) =>
    c.once("exit", (code, signal) => resolve(exitStatus(code, signal)))
  );
  return {
    pid: c.pid!,
    stdin: (c.stdin ? Writable.toWeb(c.stdin) : null) as unknown as WritableStream<Uint8Array>,
    stdout,
    stderr,
    status,
    output: async () => {
      const [out, err, s] = await Promise.all([collect(stdout), collect(stderr), status]);
      return { ...s, stdout: out, stderr: err };
    },
    kill: (signal = "SIGTERM") => {
      c.kill(signal);
    },
  };
}

function spawn(cmd: string, o: SpawnOptions): Promise<Child> {
  return new Promise((resolve, reject) => {
    const c = childProcess.spawn(cmd, o.args, {
      cwd: o.cwd,
      env: o.env ? { ...process.env, ...o.env } : process.env,
      stdio: [stdio(o.stdin), stdio(o.stdout), stdio(o.stderr)],
    });
    c.once("error", reject);
    c.once("spawn", () => {
      c.off("error", reject);
      resolve(child(c));
    });
  });
}

function std(s: NodeJS.WriteStream): StdStream {
  return {
    write: (data) =>
      new Promise((resolve, reject) =>
        s.write(data, (err) => (err ? reject(err) : resolve(data.length)))
      ),
    // stdout and stderr are synchronous for files, pipes and terminals on POSIX.
    writeSync: (data) => {
      s.write(data);
      return data.length;
    },
    isTerminal: () => s.isTTY === true,
  };
}

function hostOs(): HostOs {
  const p = process.platform as string;
  if (p === "sunos") return "illumos";
  if (p === "win32") return "windows";
  return (["linux", "darwin", "freebsd"].includes(p) ? p : "other") as HostOs;
}

async function writeFile(
  file: string,
  data: Uint8Array | string,
  o: { mode?: number; append?: boolean; createNew?: boolean } = {},
): Promise<void> {
  const flag = o.createNew ? "wx" : o.append ? "a" : "w";
  await fsp.writeFile(file, data, { flag, mode: o.mode });
  // Deno applies the mode to an existing file too.
  if (o.mode !== undefined) await fsp.chmod(file, o.mode);
}

async function remove(target: string, o: { recursive?: boolean } = {}): Promise<void> {
  if (o.recursive) return await fsp.rm(target, { recursive: true });
  const st = await fsp.lstat(target);
  await (st.isDirectory() ? fsp.rmdir(target) : fsp.unlink(target));
}

function removeSync(target: string, o: { recursive?: boolean } = {}): void {
  if (o.recursive) return fs.rmSync(target, { recursive: true });
  if (fs.lstatSync(target).isDirectory()) fs.rmdirSync(target);
  else fs.unlinkSync(target);
}

let stdinReader: ((buf: Uint8Array) => Promise<number | null>) | undefined;

/** The Node.js implementation of {@link Host}. */
export const nodeHost: Host = {
  runtime: "node",
  runtimeVersion: process.versions.node,
  os: hostOs(),

  readFile: async (file) => new Uint8Array(await fsp.readFile(file)),
  readTextFile: (file) => fsp.readFile(file, "utf8"),
  readTextFileSync: (file) => fs.readFileSync(file, "utf8"),
  writeFile,
  writeTextFile: writeFile,
  stat: async (file) => info(await fsp.stat(file)),
  statSync: (file) => info(fs.statSync(file)),
  lstat: async (file) => info(await fsp.lstat(file)),
  mkdir: async (dir, o) => {
    await fsp.mkdir(dir, o);
  },
  remove,
  removeSync,
  rename: (from, to) => fsp.rename(from, to),
  async *readDir(dir) {
    for await (const e of await fsp.opendir(dir)) yield entry(e);
  },
  readDirSync: (dir) => fs.readdirSync(dir, { withFileTypes: true }).map(entry),
  chmod: (file, mode) => fsp.chmod(file, mode),
  symlink: (target, file) => fsp.symlink(target, file),
  link: (existing, file) => fsp.link(existing, file),
  readLink: (file) => fsp.readlink(file),
  makeTempDir: (o) => fsp.mkdtemp(path.join(os.tmpdir(), o?.prefix ?? "")),
  open: (file, o) =>
    new Promise((resolve, reject) =>
      fs.open(
        file,
        openFlags(o),
        o.mode,
        (err, fd) => (err ? reject(err) : resolve(nodeFile(fd, o))),
      )
    ),
  openSync: (file, o) => nodeFile(fs.openSync(file, openFlags(o), o.mode), o),

  spawn,
  outputSync: (cmd, args) => {
    const r = childProcess.spawnSync(cmd, args, { stdio: ["ignore", "pipe", "ignore"] });
    if (r.error) throw r.error;
    return { code: exitStatus(r.status, r.signal).code, stdout: new Uint8Array(r.stdout) };
  },
  kill: (pid, signal) => {
    process.kill(pid, signal);
  },
  processExists: (pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      // EPERM: it exists, owned by someone else.
      return (err as { code?: string }).code === "EPERM";
    }
  },
  pid: process.pid,
  args: process.argv.slice(2),
  mainModule: process.argv[1] ? pathToFileURL(process.argv[1]).href : "",
  execPath: () => process.execPath,
  argv0: () => process.argv0,
  env: (name) => process.env[name],
  cwd: () => process.cwd(),
  uid: () => process.getuid?.() ?? null,
  osUptime: () => os.uptime(),
  exit: (code) => process.exit(code),
  get exitCode() {
    return Number(process.exitCode ?? 0);
  },
  set exitCode(code: number) {
    process.exitCode = code;
  },
  onSignal: (signal, fn) => {
    process.on(signal, fn);
    return () => process.off(signal, fn);
  },

  connectUnix: (socketPath) => connect({ path: socketPath }),
  connectTcp: (host, port) => connect({ host, port }),
  probeTcpPort: (host, port) =>
    new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen({ host, port, exclusive: true }, () => {
        const bound = (server.address() as net.AddressInfo).port;
        server.close(() => resolve(bound));
      });
    }),

  stdin: {
    read: (buf) => (stdinReader ??= pullReader(process.stdin))(buf),
    isTerminal: () => process.stdin.isTTY === true,
    setRaw: (raw) => {
      process.stdin.setRawMode?.(raw);
    },
  },
  stdout: std(process.stdout),
  stderr: std(process.stderr),
};

function nodeFile(fd: number, o: OpenOptions): HostFile {
  return file(fd, o.append === true);
}
