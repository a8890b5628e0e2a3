/**
 * At most `n` at a time: concurrent tests that each start heavy processes take a slot and
 * give it back, so two busy cores are not asked to run them all at once.
 */
export function slots(n: number): {take(): Promise<() => void>} {
  let free = n;
  const waiting: (() => void)[] = [];
  return {
    async take(): Promise<() => void> {
      if (free > 0) free--;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      return () => {
        const next = waiting.shift();
        if (next) next();
        else free++;
      };
    },
  };
}
