/**
 * The host layer on Deno's own APIs. Nothing here runs at import time, so the
 * Node build can carry this module without a `Deno` global.
 *
 * @module
 */
import type {
  Child,
  Conn,
  DirEntry,
  FileInfo,
  Host,
  HostFile,
  HostOs,
  OpenOptions,
  Signal,
  SpawnOptions,
  StdStream,
} from "./types.ts";

function info(s: Deno.FileInfo): FileInfo {
  return {
    isFile: s.isFile,
    isDirectory: s.isDirectory,
    isSymlink: s.isSymlink,
    isSocket: s.isSocket,
    size: s.size,
    mtime: s.mtime,
    mode: s.mode,
    uid: s.uid,
  };
}

function entry(e: Deno.DirEntry): DirEntry {
  return { name: e.name, isFile: e.isFile, isDirectory: e.isDirectory, isSymlink: e.isSymlink };
}

function file(f: Deno.FsFile): HostFile {
  return {
    read: (buf) => f.read(buf),
    readSync: (buf) => f.readSync(buf),
    write: (data) => f.write(data),
    writeSync: (data) => f.writeSync(data),
    seek: async (offset) => {
      await f.seek(offset, Deno.SeekMode.Start);
    },
    seekSync: (offset) => {
      f.seekSync(offset, Deno.SeekMode.Start);
    },
    truncate: (len) => f.truncate(len),
    sync: () => f.sync(),
    stat: async () => info(await f.stat()),
    get readable() {
      return f.readable;
    },
    close: () => f.close(),
  };
}

function child(c: Deno.ChildProcess): Child {
  return {
    pid: c.pid,
    get stdin() {
      return c.stdin;
    },
    get stdout() {
      return c.stdout;
    },
    get stderr() {
      return c.stderr;
    },
    status: c.status.then((s) => ({ ...s, signal: s.signal as Signal | null })),
    output: async () => {
      const o = await c.output();
      return {
        success: o.success,
        code: o.code,
        signal: o.signal as Signal | null,
        stdout: o.stdout,
        stderr: o.stderr,
      };
    },
    kill: (signal) => c.kill(signal),
  };
}

function conn(c: Deno.Conn): Conn {
  return { read: (buf) => c.read(buf), write: (data) => c.write(data), close: () => c.close() };
}

function std(s: typeof Deno.stdout): StdStream {
  return {
    write: (data) => s.write(data),
    writeSync: (data) => s.writeSync(data),
    isTerminal: () => s.isTerminal(),
  };
}

function hostOs(): HostOs {
  const os = Deno.build.os as string;
  if (os === "solaris") return "illumos";
  return (["linux", "illumos", "darwin", "windows", "freebsd"].includes(os)
    ? os
    : "other") as HostOs;
}

function open(path: string, o: OpenOptions): Promise<HostFile> {
  return Deno.open(path, o).then(file);
}

/**
 * Deno has no signal 0, and refuses reads under /proc without --allow-all
 * whatever --allow-read says: then `ps` answers (procps on Linux, the native
 * ps on illumos; both take -p and -o).
 */
function processExists(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    if (!(err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied)) {
      throw err;
    }
  }
  const ps = new Deno.Command("ps", {
    args: ["-p", String(pid), "-o", "pid="],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  });
  return ps.outputSync().code === 0;
}

/** The Deno implementation of {@link Host}. */
export const denoHost: Host = {
  runtime: "deno",
  get runtimeVersion() {
    return Deno.version.deno;
  },
  get os() {
    return hostOs();
  },

  readFile: (path) => Deno.readFile(path),
  readTextFile: (path) => Deno.readTextFile(path),
  readTextFileSync: (path) => Deno.readTextFileSync(path),
  writeFile: (path, data, o) => Deno.writeFile(path, data, o),
  writeTextFile: (path, data, o) => Deno.writeTextFile(path, data, o),
  stat: async (path) => info(await Deno.stat(path)),
  statSync: (path) => info(Deno.statSync(path)),
  lstat: async (path) => info(await Deno.lstat(path)),
  mkdir: (path, o) => Deno.mkdir(path, o),
  remove: (path, o) => Deno.remove(path, o),
  removeSync: (path, o) => Deno.removeSync(path, o),
  rename: (from, to) => Deno.rename(from, to),
  async *readDir(path) {
    for await (const e of Deno.readDir(path)) yield entry(e);
  },
  readDirSync: (path) => [...Deno.readDirSync(path)].map(entry),
  chmod: (path, mode) => Deno.chmod(path, mode),
  symlink: (target, path) => Deno.symlink(target, path),
  link: (existing, path) => Deno.link(existing, path),
  readLink: (path) => Deno.readLink(path),
  makeTempDir: (o) => Deno.makeTempDir(o),
  open,
  openSync: (path, o) => file(Deno.openSync(path, o)),

  spawn: (cmd: string, o: SpawnOptions) => {
    try {
      return Promise.resolve(child(new Deno.Command(cmd, o).spawn()));
    } catch (err) {
      return Promise.reject(err);
    }
  },
  outputSync: (cmd, args) => {
    const o = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "null" })
      .outputSync();
    return { code: o.code, stdout: o.stdout };
  },
  kill: (pid, signal) => Deno.kill(pid, signal),
  processExists,
  get pid() {
    return Deno.pid;
  },
  get args() {
    return Deno.args;
  },
  get mainModule() {
    return Deno.mainModule;
  },
  execPath: () => Deno.execPath(),
  // Reading argv0 boots Deno's Node layer, which costs start-up: only on demand.
  argv0: () => (globalThis as { process?: { argv0?: string } }).process?.argv0,
  env: (name) => Deno.env.get(name),
  cwd: () => Deno.cwd(),
  uid: () => Deno.uid(),
  osUptime: () => Deno.osUptime(),
  exit: (code) => Deno.exit(code),
  get exitCode() {
    return Deno.exitCode;
  },
  set exitCode(code: number) {
    Deno.exitCode = code;
  },
  onSignal: (signal, fn) => {
    Deno.addSignalListener(signal, fn);
    return () => Deno.removeSignalListener(signal, fn);
  },

  connectUnix: async (path) => conn(await Deno.connect({ transport: "unix", path })),
  connectTcp: async (hostname, port) => conn(await Deno.connect({ hostname, port })),
  probeTcpPort: (hostname, port) => {
    try {
      const l = Deno.listen({ hostname, port });
      const bound = (l.addr as Deno.NetAddr).port;
      l.close();
      return Promise.resolve(bound);
    } catch (err) {
      return Promise.reject(err);
    }
  },

  get stdin() {
    return {
      read: (buf: Uint8Array) => Deno.stdin.read(buf),
      isTerminal: () => Deno.stdin.isTerminal(),
      setRaw: (raw: boolean) => Deno.stdin.setRaw(raw),
    };
  },
  get stdout() {
    return std(Deno.stdout);
  },
  get stderr() {
    return std(Deno.stderr);
  },
};
