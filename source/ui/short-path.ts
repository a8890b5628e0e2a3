/**
 * A file path fitted to the columns a status line has left: the home directory as `~`,
 * then, if still too long, an ellipsis in the middle, so the start (where the journals
 * live) and the end (the file's own name) both stay readable.
 */
import {textWidth} from './text-width.js';

/** `path` with `home` written as `~` (only a whole leading directory). */
export function tildePath(path: string, home: string): string {
  if (!home || home === '/') return path;
  const base = home.endsWith('/') ? home.slice(0, -1) : home;
  return path === base ? '~' : path.startsWith(`${base}/`) ? `~${path.slice(base.length)}` : path;
}

/**
 * The path in at most `room` columns: `~` for home, then `head…tail` with a third of the
 * room for the head and the rest for the tail (the file name matters most). Empty when
 * even `…` and a few characters do not fit.
 */
export function shortPath(path: string, room: number, home = ''): string {
  const p = tildePath(path, home);
  if (textWidth(p) <= room) return p;
  if (room < 8) return '';
  const chars = [...p];
  const headRoom = Math.floor((room - 1) / 3);
  let head = '';
  for (const c of chars) {
    if (textWidth(head + c) > headRoom) break;
    head += c;
  }
  let tail = '';
  for (let i = chars.length - 1; i >= 0; i--) {
    if (textWidth(`${head}…${chars[i]}${tail}`) > room) break;
    tail = chars[i] + tail;
  }
  return `${head}…${tail}`;
}
