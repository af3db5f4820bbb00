/**
 * Standard output without making process.stdout where it is not needed. Node makes that stream on first use,
 * and for a pipe or a socket making it loads Node's net and stream modules: about an eighth of Node's own
 * start on the development machine, paid by every run whose output goes to a script, a service or a test.
 *
 * So output to a pipe, a socket or a regular file is written with write(2) itself, which is what the stream
 * does there too (Node's stdout is synchronous for pipes and files on Linux). Anything else (a terminal,
 * /dev/null) gets the stream. Once anything has made the stream (console.log, a prompt), everything goes
 * through it, so that nothing written here can overtake what it still holds; so does a process that never
 * called watchStdout (a test), which cannot know whether the stream was made.
 */
import { fstatSync, writeSync } from 'node:fs';
import { terminalWidth } from '../text/wrap.js';

type Stream = 'stdout' | 'stderr';

/** Whether process.stdout is watched (watchStdout) and not made yet: only then may writeOut bypass it. */
let unmade = false;
let direct: boolean | undefined;

/**
 * Run `fn` on process[name] when something first asks for it (or now, if it was made already or cannot be
 * watched): the stream is not made for it.
 */
function onStreamMade(name: Stream, fn: (s: NodeJS.WriteStream) => void): void {
  const own = Object.getOwnPropertyDescriptor(process, name);
  if (!own?.get || !own.configurable) return fn(process[name]);
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: own.enumerable,
    get() {
      Object.defineProperty(process, name, own);
      const stream = process[name];
      fn(stream);
      return stream;
    },
  });
}

/**
 * Watch for process.stdout being made, and end the run quietly when its reader went away (`sftp-setup --help
 * | head -1`), as for what writeOut writes itself. Called once, first thing in a run.
 */
export function watchStdout(): void {
  unmade = true;
  onStreamMade('stdout', (s) => {
    unmade = false;
    quietWhenClosed(s);
  });
  onStreamMade('stderr', quietWhenClosed);
}

/** A reader that went away ends the run quietly, not with a stack trace. */
function quietWhenClosed(stream: NodeJS.WriteStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    readerGone();
  });
}

function readerGone(): never {
  process.exit(process.exitCode ?? 0);
}

/** Whether output goes to a pipe, a socket or a regular file: written with write(2) then. */
function writesDirectly(): boolean {
  if (!unmade) return false;
  if (direct === undefined) {
    try {
      const st = fstatSync(1);
      direct = st.isFIFO() || st.isSocket() || st.isFile();
    } catch {
      direct = false;
    }
  }
  return direct;
}

/** Write `text` to standard output, all of it, before returning when written directly. */
export function writeOut(text: string): void {
  if (!writesDirectly()) {
    process.stdout.write(text);
    return;
  }
  const buf = Buffer.from(text);
  let done = 0;
  while (done < buf.length) {
    try {
      done += writeSync(1, buf, done);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') readerGone();
      if (code === 'EINTR') continue;
      // A non-blocking descriptor (whoever started us set it so) that is full: the stream waits for it, and
      // being made, takes everything after this too.
      if (code === 'EAGAIN') {
        process.stdout.write(buf.subarray(done));
        return;
      }
      throw err;
    }
  }
}

/** Whether standard output is a terminal. Makes the stream only when it may be one (a character device). */
export function stdoutIsTerminal(): boolean {
  return !writesDirectly() && process.stdout.isTTY === true;
}

/** The width to wrap human output at: the terminal's, or 0 (no wrapping) when output is not a terminal. */
export function outputWidth(): number {
  return stdoutIsTerminal() ? terminalWidth(process.stdout) : 0;
}
