/**
 * The few colours human output uses, written as chalk writes them (basic SGR codes, nesting and line breaks
 * handled the same way). Not chalk itself: chalk decides at import whether stdout takes colours, loading
 * Node's tty module and with it the net and stream modules, about a tenth of Node's start, on every run of
 * every command that formats anything. Here the decision waits for the first coloured text, and a run whose
 * output is a pipe, a socket or a file makes it without the tty module (stdoutIsTerminal).
 *
 * Colours are on when FORCE_COLOR says so (any value but 0 and false; those turn them off), else off when
 * NO_COLOR is set and not empty (no-color.org), else on for a terminal whose TERM takes colours.
 */
import { stdoutIsTerminal } from '../system/stdout.js';

let forced: boolean | undefined;
let decided: boolean | undefined;

/** Colours on or off whatever the environment says (tests), or undefined to decide from it again. */
export function setColors(on: boolean | undefined): void {
  forced = on;
  decided = undefined;
}

/** Whether a terminal with this TERM takes colours: about the names chalk's supports-color knows. */
export function termHasColors(env: NodeJS.ProcessEnv): boolean {
  const term = env.TERM ?? '';
  if (term === 'dumb') return false;
  return 'COLORTERM' in env || 'TERM_PROGRAM' in env
    || /-256(color)?$|^screen|^xterm|^vt100|^vt220|^rxvt|color|ansi|cygwin|linux|kitty|ghostty|wezterm/i.test(term);
}

/** Whether colours are on, from FORCE_COLOR, NO_COLOR and the terminal: pure but for the terminal check. */
export function colorsWanted(env: NodeJS.ProcessEnv, isTerminal: () => boolean): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== '0' && force !== 'false';
  if (env.NO_COLOR) return false;
  return isTerminal() && termHasColors(env);
}

/** Whether this run's output has colours (decided once, at the first question). */
export function colorsOn(): boolean {
  if (forced !== undefined) return forced;
  decided ??= colorsWanted(process.env, stdoutIsTerminal);
  return decided;
}

type Codes = readonly [open: string, close: string];
const sgr = (open: number, close: number): Codes => [`\x1b[${open}m`, `\x1b[${close}m`];

/** `text` in the styles of `chain`, outermost first. */
function apply(chain: readonly Codes[], text: string): string {
  if (!text || !colorsOn()) return text;
  if (text.includes('\x1b')) {
    // A nested style's end also ends ours when they share an end code (bold and dim, two colours): open ours again.
    for (const [open, close] of [...chain].reverse()) text = text.split(close).join(close + open);
  }
  const open = chain.map((c) => c[0]).join('');
  const close = chain.map((c) => c[1]).reverse().join('');
  // A terminal may carry a style over a line break into what comes next (a prompt): each line is closed.
  if (text.includes('\n')) text = text.replace(/(\r?\n)/g, `${close}$1${open}`);
  return open + text + close;
}

export type Style = ((text: string) => string) & { bold: (text: string) => string };

function style(codes: Codes): Style {
  return Object.assign((text: string) => apply([codes], text), { bold: (text: string) => apply([codes, BOLD], text) });
}

const BOLD = sgr(1, 22);

export const paint = {
  bold: (text: string) => apply([BOLD], text),
  dim: (text: string) => apply([sgr(2, 22)], text),
  red: style(sgr(31, 39)),
  green: style(sgr(32, 39)),
  yellow: style(sgr(33, 39)),
  cyan: style(sgr(36, 39)),
};
