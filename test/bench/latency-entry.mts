// Runs the upload-latency benchmark (TypeScript, another module's) under vite-node and prints its result as JSON.
const mod = (await import('./upload-latency.ts')) as { measureUploadLatency?: () => Promise<unknown> };
if (typeof mod.measureUploadLatency !== 'function') {
  console.log(JSON.stringify({ skipped: 'upload-latency.ts exports no measureUploadLatency()' }));
} else {
  console.log(JSON.stringify(await mod.measureUploadLatency()));
}
