/** POSIX shell single-quoting, for commands we print for a person to paste. Pure. */
export function shQuote(s: string): string {
  return /^[A-Za-z0-9_./:=@,%+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
