// Runs the watch latency benchmark (TypeScript, it reuses the e2e helpers) under vite-node; prints its result as JSON.
const { measureWatchLatency } = (await import('./watch-latency.ts')) as { measureWatchLatency: () => Promise<unknown> };
console.log(JSON.stringify(await measureWatchLatency()));
