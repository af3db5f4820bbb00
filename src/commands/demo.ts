/**
 * `sftp-setup demo`: both ends in throwaway hosts (see demo/run.ts). Loaded only when the command runs.
 */
export async function demoCommand(opts: { json: boolean }): Promise<number> {
  const { runDemo } = await import('../demo/run.js');
  return runDemo({ json: Boolean(opts.json) });
}
