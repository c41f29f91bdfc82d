/**
 * What vmctl asks of its runtime, as one interface with two implementations:
 * host/deno.ts (Deno APIs) and host/node.ts (Node.js built-ins). The shapes
 * follow Deno's where a choice was free, so code reads the same on both.
 *
 * @module
 */

/** The signals vmctl sends or listens for. */
export type Signal =
  | "SIGINT"
  | "SIGTERM"
  | "SIGKILL"
  | "SIGHUP"
  | "SIGQUIT"
  | "SIGCONT"
  | "SIGSTOP"
  | "SIGUSR1"
  | "SIGUSR2"
  | "SIGPIPE"
  | "SIGWINCH";

export interface FileInfo {
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
  /** A unix socket (null where the runtime cannot tell). */
  isSocket: boolean | null;
  size: number;
  mtime: Date | null;
  /** Permission and type bits, as st_mode. */
  mode: number | null;
  uid: number | null;
}

export interface DirEntry {
  name: string;
  isFile: boolean;
  isDirectory: boolean;
  isSymlink: boolean;
}

export interface OpenOptions {
  read?: boolean;
  write?: boolean;
  append?: boolean;
  create?: boolean;
  /** Fail with AlreadyExists when the file exists (O_EXCL). */
  createNew?: boolean;
  truncate?: boolean;
  /** Mode of a file this call creates. */
  mode?: number;
}

export interface WriteFileOptions {
  mode?: number;
  append?: boolean;
  createNew?: boolean;
}

/** An open file. Reads and writes move one position; `seek` sets it from the start. */
export interface HostFile {
  read(buf: Uint8Array): Promise<number | null>;
  readSync(buf: Uint8Array): number | null;
  write(data: Uint8Array): Promise<number>;
  writeSync(data: Uint8Array): number;
  seek(offset: number): Promise<void>;
  seekSync(offset: number): void;
  truncate(len?: number): Promise<void>;
  sync(): Promise<void>;
  stat(): Promise<FileInfo>;
  /** The rest of the file as a stream; closes the file when done. */
  readonly readable: ReadableStream<Uint8Array>;
  close(): void;
}

/** A connected stream socket (TCP or unix). */
export interface Conn {
  read(buf: Uint8Array): Promise<number | null>;
  write(data: Uint8Array): Promise<number>;
  close(): void;
}

export type Stdio = "piped" | "inherit" | "null";

export interface SpawnOptions {
  args: string[];
  cwd?: string;
  /** Added to (not replacing) this process's environment. */
  env?: Record<string, string>;
  stdin?: Stdio;
  stdout?: Stdio;
  stderr?: Stdio;
}

export interface ChildStatus {
  success: boolean;
  code: number;
  signal: Signal | null;
}

export interface ChildOutput extends ChildStatus {
  stdout: Uint8Array;
  stderr: Uint8Array;
}

export interface Child {
  readonly pid: number;
  /** Present when stdin is "piped". */
  readonly stdin: WritableStream<Uint8Array>;
  /** Present when stdout is "piped". */
  readonly stdout: ReadableStream<Uint8Array>;
  /** Present when stderr is "piped". */
  readonly stderr: ReadableStream<Uint8Array>;
  readonly status: Promise<ChildStatus>;
  /** Waits for exit, collecting piped stdout and stderr. */
  output(): Promise<ChildOutput>;
  kill(signal?: Signal): void;
}

/** This process's standard stream. */
export interface StdStream {
  write(data: Uint8Array): Promise<number>;
  writeSync(data: Uint8Array): number;
  isTerminal(): boolean;
}

export interface StdinStream {
  read(buf: Uint8Array): Promise<number | null>;
  isTerminal(): boolean;
  setRaw(raw: boolean): void;
}

/** The operating system, with illumos named as such (Node says "sunos"). */
export type HostOs = "linux" | "illumos" | "darwin" | "windows" | "freebsd" | "other";

export interface Host {
  readonly runtime: "deno" | "node";
  /** The runtime's version, e.g. "2.9.6" or "22.11.0". */
  readonly runtimeVersion: string;
  readonly os: HostOs;

  readFile(path: string): Promise<Uint8Array>;
  readTextFile(path: string): Promise<string>;
  readTextFileSync(path: string): string;
  writeFile(path: string, data: Uint8Array, o?: WriteFileOptions): Promise<void>;
  writeTextFile(path: string, data: string, o?: WriteFileOptions): Promise<void>;
  stat(path: string): Promise<FileInfo>;
  statSync(path: string): FileInfo;
  lstat(path: string): Promise<FileInfo>;
  mkdir(path: string, o?: { recursive?: boolean; mode?: number }): Promise<void>;
  remove(path: string, o?: { recursive?: boolean }): Promise<void>;
  removeSync(path: string, o?: { recursive?: boolean }): void;
  rename(from: string, to: string): Promise<void>;
  readDir(path: string): AsyncIterable<DirEntry>;
  readDirSync(path: string): DirEntry[];
  chmod(path: string, mode: number): Promise<void>;
  symlink(target: string, path: string): Promise<void>;
  /** A hard link: fails with AlreadyExists when `path` exists (an atomic test-and-set). */
  link(existing: string, path: string): Promise<void>;
  readLink(path: string): Promise<string>;
  makeTempDir(o?: { prefix?: string }): Promise<string>;
  open(path: string, o: OpenOptions): Promise<HostFile>;
  openSync(path: string, o: OpenOptions): HostFile;

  /** Start a program; rejects (NotFound, permission) when it cannot start. */
  spawn(cmd: string, o: SpawnOptions): Promise<Child>;
  /** Run a program to completion synchronously; stdin and stderr closed. */
  outputSync(cmd: string, args: string[]): { code: number; stdout: Uint8Array };
  /** Send `signal` to `pid`; throws NotFound (ESRCH) when there is no such process. */
  kill(pid: number, signal: Signal): void;
  /** True while a process `pid` exists (a zombie included), under any permission set. */
  processExists(pid: number): boolean;
  readonly pid: number;
  /** The command-line arguments after the program (and script). */
  readonly args: string[];
  /** The entry module or script as started (symlink name kept). */
  readonly mainModule: string;
  /** The runtime binary, or the single executable. */
  execPath(): string;
  /** The name the process was invoked by (argv[0]); read only where nothing else tells. */
  argv0(): string | undefined;
  env(name: string): string | undefined;
  cwd(): string;
  uid(): number | null;
  osUptime(): number;
  exit(code: number): never;
  exitCode: number;
  /** Call `fn` on `signal`; returns the function that stops listening. */
  onSignal(signal: Signal, fn: () => void): () => void;

  connectUnix(path: string): Promise<Conn>;
  connectTcp(hostname: string, port: number): Promise<Conn>;
  /** Bind `hostname:port` (0: any free port), close at once, and return the port bound. */
  probeTcpPort(hostname: string, port: number): Promise<number>;

  readonly stdin: StdinStream;
  readonly stdout: StdStream;
  readonly stderr: StdStream;
}
