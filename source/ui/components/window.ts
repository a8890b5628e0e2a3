/**
 * Which slice of a long list fits in a number of rows, keeping one item in view. The
 * rows include the "… N more" lines, so a pane never grows past what it was given.
 */
export interface Slice {
  start: number;
  end: number;
  /** Items hidden above and below the slice (each takes one row to say so). */
  above: number;
  below: number;
}

export function windowOf(
  total: number,
  rows: number,
  options: {focus?: number; anchor?: 'top' | 'bottom'; offset?: number} = {},
): Slice {
  if (rows <= 0) return {start: 0, end: 0, above: 0, below: 0};
  if (total <= rows) return {start: 0, end: total, above: 0, below: 0};
  if (rows < 3) {
    // No room to say what is hidden: show what fits around the focus.
    const start = Math.max(0, Math.min(total - rows, (options.focus ?? total - rows) - rows + 1));
    return {start, end: start + rows, above: 0, below: 0};
  }
  const desired =
    options.focus !== undefined
      ? options.focus - Math.floor((rows - 2) / 2)
      : options.anchor === 'bottom'
        ? total - (rows - 1) - (options.offset ?? 0)
        : (options.offset ?? 0);
  if (desired <= 0) return {start: 0, end: rows - 1, above: 0, below: total - (rows - 1)};
  if (desired >= total - (rows - 1))
    return {start: total - (rows - 1), end: total, above: total - (rows - 1), below: 0};
  return {
    start: desired,
    end: desired + rows - 2,
    above: desired,
    below: total - desired - rows + 2,
  };
}
