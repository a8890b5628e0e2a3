/**
 * A clock that ticks only as often as the screen needs it: once a second while something
 * runs (durations, "changed 4s ago"), once a minute at rest (the header's elapsed time),
 * never when the time is fixed (a replay, a closed session). Ticks land on whole
 * seconds or minutes so every time on screen turns over together.
 */
import {useEffect, useState} from 'react';

export function useNow(intervalMs: number | null, fixed?: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (fixed !== undefined || intervalMs === null) return;
    let timer: NodeJS.Timeout;
    const schedule = (): void => {
      const wait = intervalMs - (Date.now() % intervalMs) + 5;
      timer = setTimeout(() => {
        setNow(Date.now());
        schedule();
      }, wait);
    };
    setNow(Date.now());
    schedule();
    return () => clearTimeout(timer);
  }, [intervalMs, fixed]);
  return fixed ?? now;
}
