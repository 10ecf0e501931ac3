import { useEffect, useState } from 'react';

/** Re-renders every `ms` while `active`, for elapsed-time displays. Returns the current time. */
export function useTicker(active: boolean, ms: number, now: () => number): number {
  const [, setTick] = useState(0);
  useEffect(() => {
    if (!active) return undefined;
    const id = setInterval(() => setTick((t) => t + 1), ms);
    return () => clearInterval(id);
  }, [active, ms]);
  return now();
}
