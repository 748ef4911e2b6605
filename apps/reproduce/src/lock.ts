/**
 * Stage locks: `<stage>/<hash>.lock` says which process is running a stage, so a second invocation
 * on the same run directory waits for it instead of doing the work twice.
 *
 * A bare pid is not an identity: after a reboot, or in a container, the pid of a dead owner can
 * belong to an unrelated live process, and a lock that trusts it is never released. A lock here
 * records the owner's pid, its start time as the kernel reports it, the boot it belongs to, the
 * host and a random token, and the owner refreshes the file's modification time (a heartbeat) while
 * it works. A lock is taken over when its owner is provably gone: same host and boot, and the pid is
 * dead or is a process that started at another time (pid reuse); another boot of this host; or no
 * heartbeat for {@link STALE_HEARTBEAT_MS} (another host, or a system without `/proc`). A run that
 * has to wait says what for, repeats it every minute, and gives up with a {@link LockWaitError}
 * after its bound (`--lock-wait`, default {@link DEFAULT_LOCK_WAIT_MINUTES} minutes).
 *
 * Locks are released when the stage ends (normally or by an exception), on SIGINT/SIGTERM/SIGHUP,
 * and on `process.exit`; only a SIGKILL leaves one behind, and the next run takes it over.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';

/** How long a waiting run waits for a live lock holder by default (the bench's longest stage is 30 min). */
export const DEFAULT_LOCK_WAIT_MINUTES = 240;
/** The owner touches its lock this often. */
export const HEARTBEAT_MS = 15_000;
/** A lock without a heartbeat for this long is stale, whatever its pid says. */
export const STALE_HEARTBEAT_MS = 5 * 60_000;

/** What a lock file holds (JSON). */
export interface LockOwner {
  pid: number;
  /** The process's start time in clock ticks since boot (`/proc/<pid>/stat` field 22), when known. */
  startTicks?: number;
  /** `/proc/sys/kernel/random/boot_id`, when known. */
  bootId?: string;
  host: string;
  token: string;
  /** ISO time the lock was taken. */
  since: string;
  /** What holds it, for messages (`[sasrec] in /runs/x`). */
  what?: string;
}

/** A waiting run gave up: the message names the lock file, its owner and how to clear it. */
export class LockWaitError extends Error {
  constructor(
    readonly lockFile: string,
    message: string,
  ) {
    super(message);
    this.name = 'LockWaitError';
  }
}

function readProc(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Field 22 of `/proc/<pid>/stat` (the command name in field 2 may hold spaces and parentheses). */
export function processStartTicks(pid: number): number | undefined {
  const stat = readProc(`/proc/${pid}/stat`);
  if (!stat) return undefined;
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const v = Number(rest[19]);
  return Number.isFinite(v) ? v : undefined;
}

let boot: string | undefined | null = null;
function bootId(): string | undefined {
  if (boot === null) boot = readProc('/proc/sys/kernel/random/boot_id')?.trim();
  return boot;
}

/** This process as a lock owner. */
export function selfOwner(what?: string): LockOwner {
  const startTicks = processStartTicks(process.pid);
  const b = bootId();
  return {
    pid: process.pid,
    ...(startTicks !== undefined ? { startTicks } : {}),
    ...(b ? { bootId: b } : {}),
    host: hostname(),
    token: randomBytes(12).toString('hex'),
    since: new Date().toISOString(),
    ...(what ? { what } : {}),
  };
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Parses a lock file's text: this module's JSON, or the bare pid earlier versions wrote. */
export function parseLock(text: string): LockOwner | { pid: number; legacy: true } | undefined {
  const t = text.trim();
  if (/^[0-9]+$/.test(t)) return { pid: Number(t), legacy: true };
  try {
    const o = JSON.parse(t) as Partial<LockOwner>;
    if (o && Number.isInteger(o.pid) && typeof o.token === 'string' && typeof o.host === 'string')
      return o as LockOwner;
  } catch {
    // fall through: unreadable (e.g. cut short by a crash while writing it)
  }
  return undefined;
}

/** Why a lock can be taken over, or undefined while its owner may still be working. */
export function staleReason(lockFile: string, now = Date.now()): string | undefined {
  let text: string;
  let mtime: number;
  try {
    text = readFileSync(lockFile, 'utf8');
    mtime = statSync(lockFile).mtimeMs;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'released';
    throw e;
  }
  const owner = parseLock(text);
  if (!owner)
    return now - mtime > 10_000 ? 'the lock file is not readable (written by a crashed process?)' : undefined;
  if ('legacy' in owner) {
    if (!pidAlive(owner.pid)) return `pid ${owner.pid} is not running`;
    // An old-format lock holds a bare pid: a process that started after the lock was written
    // cannot be the one that wrote it.
    const started = processStartMs(owner.pid);
    if (started !== undefined && started > mtime + 1000)
      return `pid ${owner.pid} now belongs to a process started after the lock was written`;
    return undefined;
  }
  if (now - mtime > STALE_HEARTBEAT_MS) return `no heartbeat for ${((now - mtime) / 60_000).toFixed(1)} min`;
  if (owner.host !== hostname()) return undefined; // only the heartbeat can tell
  const myBoot = bootId();
  if (owner.bootId && myBoot && owner.bootId !== myBoot) return 'it was taken before this machine rebooted';
  if (!pidAlive(owner.pid)) return `pid ${owner.pid} is not running`;
  if (owner.startTicks !== undefined) {
    const ticks = processStartTicks(owner.pid);
    if (ticks !== undefined && ticks !== owner.startTicks)
      return `pid ${owner.pid} is now another process (started at another time)`;
  }
  return undefined;
}

/** A process's start as epoch milliseconds (Linux), for old-format locks. */
function processStartMs(pid: number): number | undefined {
  const ticks = processStartTicks(pid);
  const stat = readProc('/proc/stat');
  const btime = stat ? Number(/^btime (\d+)$/m.exec(stat)?.[1]) : Number.NaN;
  if (ticks === undefined || !Number.isFinite(btime)) return undefined;
  // CLK_TCK is 100 on every Linux configuration Node supports.
  return btime * 1000 + ticks * 10;
}

/** Describes a lock's owner for a message. */
export function describeOwner(lockFile: string): string {
  const text = readProc(lockFile);
  const o = text === undefined ? undefined : parseLock(text);
  if (!o) return 'an unknown owner';
  if ('legacy' in o) return `pid ${o.pid} (old-format lock)`;
  return `pid ${o.pid} on ${o.host}${o.what ? `, ${o.what}` : ''}, since ${o.since}`;
}

interface Held {
  file: string;
  token: string;
  timer: ReturnType<typeof setInterval>;
}
const held = new Map<string, Held>();
let handlersInstalled = false;

function releaseAllSync(): void {
  for (const h of [...held.values()]) release(h.file);
}

function installHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on('exit', releaseAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = () => {
      releaseAllSync();
      // Then die of the same signal, as the default handler would have.
      process.removeListener(sig, onSignal);
      process.kill(process.pid, sig);
    };
    process.on(sig, onSignal);
  }
}

/**
 * Takes `lockFile` (exclusive create). Returns false while a live owner holds it; a stale lock
 * (see {@link staleReason}) is removed and taken, with `log` saying why.
 */
export function tryLock(lockFile: string, what?: string, log?: (msg: string) => void): boolean {
  for (let attempt = 0; attempt < 3; attempt++) {
    const owner = selfOwner(what);
    try {
      const fd = openSync(lockFile, 'wx');
      try {
        writeSync(fd, `${JSON.stringify(owner)}\n`);
      } finally {
        closeSync(fd);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const why = staleReason(lockFile);
      if (!why) return false;
      if (why !== 'released') log?.(`taking over ${lockFile} from ${describeOwner(lockFile)}: ${why}`);
      rmSync(lockFile, { force: true });
      continue;
    }
    installHandlers();
    const timer = setInterval(() => {
      try {
        const now = new Date();
        utimesSync(lockFile, now, now);
      } catch {
        // the lock was removed under us; the owner check on release handles it
      }
    }, HEARTBEAT_MS);
    timer.unref();
    held.set(lockFile, { file: lockFile, token: owner.token, timer });
    return true;
  }
  return false;
}

/** Releases a lock this process holds (only if the file still carries this process's token). */
export function release(lockFile: string): void {
  const h = held.get(lockFile);
  if (!h) return;
  clearInterval(h.timer);
  held.delete(lockFile);
  const text = readProc(lockFile);
  const o = text === undefined ? undefined : parseLock(text);
  if (o && !('legacy' in o) && o.token === h.token) rmSync(lockFile, { force: true });
}

/** Options of {@link waitForLock}. */
export interface LockWaitOptions {
  /** Give up after this long (default {@link DEFAULT_LOCK_WAIT_MINUTES} minutes). */
  maxWaitMs?: number;
  /** How often to look again (default 5 s). */
  pollMs?: number;
}

/**
 * Waits until `done()` is true (the other process finished) or the lock can be taken. Returns
 * `'done'` or `'locked'` (this process now holds it).
 *
 * @throws LockWaitError after `maxWaitMs`, naming the lock, its owner and how to clear it
 */
export async function waitForLock(
  lockFile: string,
  done: () => boolean,
  what: string,
  log: (msg: string) => void,
  opts: LockWaitOptions = {},
): Promise<'done' | 'locked'> {
  const maxWait = opts.maxWaitMs ?? DEFAULT_LOCK_WAIT_MINUTES * 60_000;
  const poll = opts.pollMs ?? 5000;
  const t0 = Date.now();
  let lastSaid = Number.NEGATIVE_INFINITY;
  for (;;) {
    if (done()) return 'done';
    if (tryLock(lockFile, what, log)) return 'locked';
    const waited = Date.now() - t0;
    if (waited >= maxWait)
      throw new LockWaitError(
        lockFile,
        `gave up after ${(waited / 60_000).toFixed(1)} min waiting for ${lockFile}, held by ${describeOwner(lockFile)}. ` +
          'If that process is gone, delete the lock file; to wait longer pass --lock-wait <minutes>.',
      );
    if (Date.now() - lastSaid >= 60_000) {
      lastSaid = Date.now();
      log(
        `another process is running it: waiting for ${describeOwner(lockFile)} (lock ${lockFile}); giving up in ${((maxWait - waited) / 60_000).toFixed(1)} min`,
      );
    }
    await new Promise((r) => setTimeout(r, poll));
  }
}

/** Whether a lock file exists (for tests and messages). */
export function lockExists(lockFile: string): boolean {
  return existsSync(lockFile);
}
