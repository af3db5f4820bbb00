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
