/**
 * The listening sshd's command line, read back from /proc/PID/cmdline, for the one thing we need from it:
 * the `-E FILE` it logs to (with -E, sshd writes nothing to syslog or the journal). Pure.
 *
 * The listener retitles itself (setproctitle, which on Linux overwrites the argument area), so cmdline is
 * usually one string: "sshd: /usr/sbin/sshd -E /var/log/sshd.log [listener] 0 of 10-100 startups", the
 * original arguments joined by spaces. Before it retitles, or where it cannot, it is the NUL-separated list.
 */

// sshd.c getopt(): the options that take a value (OpenSSH 9.2 through 10.x).
const WITH_VALUE = new Set('CEbcfghkopu'.split(''));

/** The arguments (after the program name) from /proc/PID/cmdline's bytes as text. */
export function sshdArguments(cmdline: string): string[] {
  const parts = cmdline.split('\0').filter((p) => p !== '');
  if (parts.length > 1) return parts.slice(1);
  const title = (parts[0] ?? '').replace(/^sshd: /, '').replace(/ \[listener\].*$/, '');
  return title.split(' ').filter(Boolean).slice(1);
}

/**
 * The log file named by -E, as sshd's getopt reads it (`-E FILE`, `-EFILE`, grouped flags such as `-DE FILE`;
 * the last one wins); undefined without one, or when it is not an absolute path (relative to a directory we
 * cannot know).
 */
export function logFileOf(args: string[]): string | undefined {
  let file: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') break;
    if (!a.startsWith('-') || a === '-') continue;
    for (let j = 1; j < a.length; j++) {
      const opt = a[j]!;
      if (!WITH_VALUE.has(opt)) continue;
      const value = j + 1 < a.length ? a.slice(j + 1) : args[++i];
      if (opt === 'E') file = value;
      break;
    }
  }
  return file && file.startsWith('/') && !file.includes('\0') ? file : undefined;
}
