// Runs the sync throughput benchmark (TypeScript) under vite-node and prints its result as JSON.
const { measureSyncThroughput } = (await import('./sync-throughput.ts')) as typeof import('./sync-throughput.js');
console.log(JSON.stringify(await measureSyncThroughput()));
