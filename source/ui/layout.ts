/**
 * Where the panes go for a terminal size. The whole frame is one line shorter than the
 * terminal: Ink 6.8 clears the entire screen on every frame once its output is as tall
 * as the terminal (ink#935), so it never is.
 */

export interface LayoutNeeds {
  rows: number;
  columns: number;
  /** Lines the prompt pane wants (0 without a prompt). */
  prompt: number;
  /** Lines the counts pane wants (0 without live counts). */
  counts: number;
  /** Lines the checklist needs (the active phase open), and with every phase open. */
  checklist: number;
  checklistMax: number;
  /** Lines the output pane has to show (title and tabs included). */
  output: number;
  /** A replay position bar. */
  replayBar: boolean;
  /** Lines of the closing banner (session over), 0 without one. */
  banner: number;
}

export interface Layout {
  /** Lines in the frame: rows - 1. */
  height: number;
  width: number;
  /** Side by side (wide terminals) or stacked. */
  wide: boolean;
  header: number;
  footer: number;
  replayBar: number;
  banner: number;
  prompt: number;
  counts: number;
  checklist: {rows: number; width: number};
  output: {rows: number; width: number};
  /** The body (checklist and output, or the help, or the command log). */
  body: number;
  tooSmall: boolean;
}

export const MIN_ROWS = 12;
/** The most lines a closing banner takes (it wraps on a narrow terminal). */
export const BANNER_MAX = 3;
export const MIN_COLUMNS = 40;
/** From this width the checklist sits left of the output. */
export const WIDE_COLUMNS = 140;

const clamp = (n: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, n));

export function layout(needs: LayoutNeeds): Layout {
  const height = Math.max(1, needs.rows - 1);
  const width = Math.max(1, needs.columns);
  const tooSmall = needs.rows < MIN_ROWS || needs.columns < MIN_COLUMNS;
  const wide = width >= WIDE_COLUMNS;
  const header = 2;
  const footer = 1;
  const replayBar = needs.replayBar ? 1 : 0;
  const banner = Math.max(0, Math.min(BANNER_MAX, needs.banner));
  const fixed = header + footer + replayBar + banner;
  // The prompt may take up to 60% (a danger prompt lists every host); the rest keeps at
  // least a few lines of checklist and output.
  const prompt = needs.prompt ? clamp(needs.prompt, 3, Math.floor((height - fixed) * 0.6)) : 0;
  const body = Math.max(0, height - fixed - prompt);
  if (wide) {
    const left = clamp(Math.floor(width * 0.4), 50, 90);
    const counts = Math.min(needs.counts, Math.floor(body / 3));
    return {
      height,
      width,
      wide,
      header,
      footer,
      replayBar,
      banner,
      prompt,
      counts,
      checklist: {rows: body, width: left},
      output: {rows: Math.max(0, body - counts), width: width - left - 1},
      body,
      tooSmall,
    };
  }
  const counts = Math.min(needs.counts, Math.max(0, Math.floor(body / 4)));
  const rest = body - counts;
  // The output keeps 40% (at least 4 lines) when it has that much to show; the checklist
  // takes what it needs of the rest, and more (other phases opened) when the output is short.
  const outWant = Math.max(2, needs.output);
  const outMin = Math.min(outWant, Math.max(4, Math.ceil(rest * 0.4)));
  const cap = Math.max(Math.min(3, rest), rest - outMin);
  const room = Math.max(0, rest - outWant);
  const checklistRows = Math.min(
    cap,
    Math.max(needs.checklist, Math.min(room, needs.checklistMax)),
  );
  return {
    height,
    width,
    wide,
    header,
    footer,
    replayBar,
    banner,
    prompt,
    counts,
    checklist: {rows: checklistRows, width},
    output: {rows: Math.max(0, rest - checklistRows), width},
    body,
    tooSmall,
  };
}
