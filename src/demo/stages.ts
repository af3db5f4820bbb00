/**
 * The demo's stages: each one timed, printed as it ends (so a person watching sees progress), and collected
 * for the summary and the JSON report.
 */
import { paint } from '../text/color.js';
import { printable } from '../text/printable.js';
import { wrapLine } from '../text/wrap.js';
import { outputWidth } from '../system/stdout.js';

export type StageStatus = 'ok' | 'failed';

export interface StageResult {
  id: string;
  title: string;
  status: StageStatus;
  ms: number;
  detail?: string;
}

export function seconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(2)}s` : `${(ms / 1000).toFixed(1)}s`;
}

const MARK: Record<StageStatus, string> = {
  ok: paint.green('ok     '),
  failed: paint.red('FAILED '),
};

export function formatStage(s: StageResult, width = outputWidth()): string {
  const time = seconds(s.ms).padStart(7);
  const detail = s.detail ? (s.status === 'failed' ? paint.red(` — ${printable(s.detail)}`) : ` — ${printable(s.detail)}`) : '';
  return wrapLine(`  ${MARK[s.status]} ${time}  ${s.title}${detail}`, width, 19);
}

/**
 * Why a command run inside a host failed, for a stage's line: the CLI's own one-line error when it printed
 * one, else the error line of a stack trace (not its frames), else the last lines of its output.
 */
export function whyFailed(r: { stdout: string; stderr: string }, n = 4): string {
  const lines = `${r.stdout}\n${r.stderr}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const ours = lines.filter((l) => /^sftp-setup: (unexpected )?error:/.test(l));
  if (ours.length) return ours.join(' / ');
  const thrown = lines.find((l) => /^([A-Z][A-Za-z]*)?Error\b.*:/.test(l));
  if (thrown) return thrown;
  return lines.filter((l) => !/^at /.test(l)).slice(-n).join(' / ');
}

export class Stages {
  readonly results: StageResult[] = [];
  constructor(private readonly print: (line: string) => void) {}

  /** Run one stage; its body returns a short detail line. A failure is recorded and rethrown. */
  async run<T>(id: string, title: string, body: () => Promise<{ detail?: string; value: T }>): Promise<T> {
    const started = performance.now();
    try {
      const { detail, value } = await body();
      this.record({ id, title, status: 'ok', ms: performance.now() - started, ...(detail ? { detail } : {}) });
      return value;
    } catch (err) {
      this.record({ id, title, status: 'failed', ms: performance.now() - started, detail: (err as Error).message });
      throw err;
    }
  }

  private record(s: StageResult): void {
    this.results.push(s);
    this.print(formatStage(s));
  }
}
