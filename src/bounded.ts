/**
 * Bounded concurrency: at a fleet's scale (a hundred upload accounts) work per account runs side by side,
 * but never all at once: each live probe is an SSH connection that counts against sshd's MaxStartups, and a
 * small Pi has two to four cores. Results keep the order of the input, whatever order the work ends in.
 */

/** A gate that lets at most `limit` calls of `run` proceed at once; the others wait, first come first served. */
export function limiter(limit: number): <T>(fn: () => Promise<T>) => Promise<T> {
  const max = Math.max(1, Math.floor(limit));
  let active = 0;
  const waiting: Array<() => void> = [];
  const release = () => {
    active--;
    const next = waiting.shift();
    if (next) {
      active++;
      next();
    }
  };
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active < max) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await fn();
    } finally {
      release();
    }
  };
}

/** `fn` over every item, at most `limit` at a time; the results in the items' order. */
export function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const gate = limiter(limit);
  return Promise.all(items.map((item, i) => gate(() => fn(item, i))));
}
