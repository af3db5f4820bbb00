/** The kernel's views under /proc of this process and of the network. */
import { promises as fs, readFileSync } from 'node:fs';

/** A /proc text file, read whole (they report no size to read up to). */
export async function readProcText(path: string): Promise<string> {
  return fs.readFile(path, 'utf8');
}

/** Whether this process leads its process group (it was started under setsid): /proc/self/stat's pgrp. */
export function leadsProcessGroup(): boolean {
  return readFileSync('/proc/self/stat', 'utf8').split(') ')[1]?.split(' ')[2] === String(process.pid);
}

/** Whether a process with this pid exists (EPERM: it does, and is someone else's). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The pids whose real uid is `uid` (the Uid: line of /proc/PID/status), read now; gone ones are skipped. */
export async function processesOfUid(uid: number): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^[1-9][0-9]*$/.test(name)) continue;
    const status = await fs.readFile(`/proc/${name}/status`, 'utf8').catch(() => '');
    const real = /^Uid:\s+(\d+)/m.exec(status)?.[1];
    if (real !== undefined && Number(real) === uid) pids.push(Number(name));
  }
  return pids;
}

/**
 * End these processes: SIGTERM, then SIGKILL for what is still there after `graceMs`. Returns the pids that
 * were running when asked (a pid already gone is not counted).
 */
export async function endProcesses(pids: number[], graceMs = 2000): Promise<number[]> {
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
      return true;
    } catch {
      return false;
    }
  };
  const ended = pids.filter((pid) => signal(pid, 'SIGTERM'));
  for (const until = Date.now() + graceMs; ended.some(processAlive) && Date.now() < until;) await new Promise((r) => setTimeout(r, 50));
  for (const pid of ended.filter(processAlive)) signal(pid, 'SIGKILL');
  return ended;
}
