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
