/**
 * The terminal's size, re-read on resize. With `clearOnResize` the screen is wiped before
 * the next frame: Ink 6 cannot count the rows a shrunk terminal re-wrapped, and leaves
 * stale lines otherwise (ink#711).
 */
import {useStdout} from 'ink';
import {useEffect, useRef, useState} from 'react';

export interface Size {
  rows: number;
  columns: number;
}

const CLEAR = '\u001b[2J\u001b[3J\u001b[H';

export function useTerminalSize(options: {fixed?: Size; clearOnResize?: boolean} = {}): Size {
  const {stdout} = useStdout();
  const {fixed, clearOnResize} = options;
  const [size, setSize] = useState<Size>(() => ({
    rows: stdout.rows || 24,
    columns: stdout.columns || 80,
  }));
  const current = useRef(size);
  useEffect(() => {
    if (fixed) return;
    const onResize = (): void => {
      const next = {rows: stdout.rows || 24, columns: stdout.columns || 80};
      if (next.rows === current.current.rows && next.columns === current.current.columns) return;
      current.current = next;
      if (clearOnResize) stdout.write(CLEAR);
      setSize(next);
    };
    stdout.on('resize', onResize);
    return () => void stdout.off('resize', onResize);
  }, [stdout, fixed, clearOnResize]);
  return fixed ?? size;
}
