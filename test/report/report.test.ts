/**
 * `crewchief report` on real sessions of the built CLI: the demo, and a session with a
 * crash (kill -9 in a command), a resume, an unknown outcome resolved by a rerun, a
 * failure skipped by flag and a watch that timed out and was skipped. The HTML goes
 * through Debian's headless Chromium: it loads with no console error and no request,
 * the Gantt and the charts are drawn, it prints. Both formats say what the journal says.
 */
import fs from 'node:fs';
import path from 'node:path';
import {afterAll, beforeAll, describe, expect, it} from 'vitest';
import type {JournalEntry} from '../../source/journal/events.js';
import {readJournal} from '../../source/journal/file.js';
import {statusWord} from '../../source/report/markdown.js';
import {cli, waitForEntry} from '../helpers/cli.js';
import {repoRoot, tempDir} from '../helpers/fixtures.js';
import {Chromium} from './chromium.js';

let dir: string;
let demoJournal: string;
let failJournal: string;

/** The failure session: killed mid-command, resumed with a failing cleanup and a short watch timeout. */
async function failureSession(): Promise<void> {
  const profile = path.join(dir, 'rubin-tts-rough.yaml');
  const demo = fs.readFileSync(path.join(repoRoot, 'profiles', 'rubin-tts-demo.yaml'), 'utf8');
  const rough = demo.replace(
    /federations-zero: \{[^}]*\}/,
    'federations-zero: {every: 1s, patience: 3s, timeout: 6s}',
  );
  expect(rough).not.toBe(demo);
  fs.writeFileSync(profile, rough.replace('speed: 20', 'speed: 3'));
  const first = cli(
    [
      'run',
      'rubin',
      '--profile',
      profile,
      '--plain',
      '--yes',
      '--confirm',
      'cleanup_all',
      '--journal',
      failJournal,
    ],
    {
      state: dir,
    },
  );
  await waitForEntry(
    failJournal,
    (e) => e.type === 'output' && e.step === 'cleanup/dm-camera-down',
    60_000,
  );
  first.kill('SIGKILL');
  await first;
  fs.writeFileSync(profile, rough);
  const second = await cli(
    [
      'resume',
      failJournal,
      '--plain',
      '--yes',
      '--confirm',
      'cleanup_all',
      '--on-unknown',
      'rerun',
      '--on-failure',
      'skip',
      '--on-timeout',
      'skip',
      '--sim-faults',
      'cleanup-fails',
    ],
    {state: dir},
  );
  expect(second.exitCode, second.all).toBe(0);
}

beforeAll(async () => {
  dir = tempDir('cc-report-');
  demoJournal = path.join(dir, 'demo.jsonl');
  failJournal = path.join(dir, 'rough.jsonl');
  const demo = cli(['demo', '--plain', '--journal', demoJournal], {state: dir});
  await failureSession();
  const done = await demo;
  expect(done.exitCode, done.all).toBe(0);
}, 240_000);
afterAll(() => fs.rmSync(dir, {recursive: true, force: true}));

const entriesOf = (file: string): JournalEntry[] => readJournal(file).entries;

async function reports(journal: string, name: string): Promise<{md: string; html: string}> {
  const md = path.join(dir, `${name}.md`);
  const html = path.join(dir, `${name}.html`);
  const run = await cli(['report', journal, '--md', md, '--html', html], {state: dir});
  expect(run.exitCode, run.all).toBe(0);
  return {md: fs.readFileSync(md, 'utf8'), html};
}

/** The decisions table's rows and the timeline's rows of a Markdown report. */
function section(md: string, title: string): string {
  const start = md.indexOf(`## ${title}\n`);
  expect(start, `section ${title}`).toBeGreaterThanOrEqual(0);
  const end = md.indexOf('\n## ', start + 4);
  return md.slice(start, end < 0 ? undefined : end);
}

const unescape = (text: string): string => text.replace(/\\(.)/g, '$1');

/** What the journal says every step ended as, and every decision, as the report must show. */
function assertSaysWhatTheJournalSays(entries: JournalEntry[], md: string): void {
  const opened = entries.find((e) => e.type === 'session-opened');
  if (opened?.type !== 'session-opened') throw new Error('no session-opened');
  const titles = new Map(opened.plan.steps.map((s) => [s.key, s.title]));
  const decisions = entries.filter((e) => e.type === 'decision');
  const decisionRows = section(md, 'Decisions')
    .split('\n')
    .filter((l) => l.startsWith('| 20'))
    .map(unescape);
  expect(decisionRows).toHaveLength(decisions.length);
  decisions.forEach((d, i) => {
    const row = decisionRows[i]!;
    expect(row).toContain(titles.get(d.step));
    expect(row).toContain(`| ${d.decision}`);
    expect(row).toContain(d.by);
    if (d.reason) expect(row).toContain(d.reason);
  });
  const timeline = section(md, 'Timeline').split('\n').map(unescape);
  const finished = entries.filter((e) => e.type === 'step-finished');
  for (const key of new Set(finished.map((f) => f.step))) {
    const mine = finished.filter((f) => f.step === key);
    const row = timeline.find(
      (l) => l.startsWith(`| ${titles.get(key)} |`) || l.startsWith(`| ↳ ${titles.get(key)} |`),
    );
    expect(row, `timeline row of ${key}`).toBeDefined();
    // The last outcome is the step's; every earlier one is in its notes.
    expect(row).toContain(`| ${statusWord(mine.at(-1)!.outcome)} |`);
    if (mine.length > 1) expect(row).toContain(mine.map((f) => f.outcome).join(' → '));
  }
  for (const h of entries.filter((e) => e.type === 'host-finished')) {
    const fanOut = opened.plan.steps.find((s) => s.key === h.step)?.hosts?.length ?? 0;
    if (fanOut > 1)
      expect(section(md, 'Per-host results')).toContain(
        `| \`${h.host}\` | ${statusWord(h.outcome)} |`,
      );
  }
}

async function inChromium(html: string): Promise<{
  rows: number;
  bars: number;
  phaseBars: number;
  watchCharts: number;
  countPaths: string[];
  bandRects: number;
  decisionRows: number;
  stepStatuses: Record<string, string>;
  breaks: number;
}> {
  const browser = await Chromium.launch();
  try {
    await browser.load(html);
    const drawn = await browser.evaluate<{
      rows: number;
      bars: number;
      phaseBars: number;
      watchCharts: number;
      countPaths: string[];
      bandRects: number;
      decisionRows: number;
      stepStatuses: Record<string, string>;
      barWidths: number[];
      breaks: number;
    }>(`(() => {
      const q = (s) => [...document.querySelectorAll(s)];
      return {
        rows: q('#steps tr.step').length,
        bars: q('svg.gantt rect.bar[data-kind=step]').length,
        phaseBars: q('svg.gantt rect.bar[data-kind=phase]').length,
        barWidths: q('svg.gantt rect.bar').map((r) => r.getBoundingClientRect().width),
        watchCharts: q('svg.watch').length,
        countPaths: q('svg.watch path.count').map((p) => p.getAttribute('d') ?? ''),
        bandRects: q('svg.watch rect.band').length,
        decisionRows: q('#decisions tr.decision').length,
        stepStatuses: Object.fromEntries(q('#steps tr.step').map((r) => [r.dataset.step, r.dataset.status])),
        breaks: q('svg.gantt path.break').length,
      };
    })()`);
    for (const w of drawn.barWidths) expect(w).toBeGreaterThan(0);
    const png = await browser.screenshot();
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    const pdf = await browser.pdf();
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(browser.problems).toEqual({consoleErrors: [], exceptions: [], requests: []});
    return drawn;
  } finally {
    await browser.close();
  }
}

describe('crewchief report', () => {
  it('reports the demo: Markdown and an HTML page Chromium draws with no error and no request', async () => {
    const entries = entriesOf(demoJournal);
    const {md, html} = await reports(demoJournal, 'demo');
    expect(md).toMatch(/^# Rubin/);
    expect(md).toContain('| Outcome | **finished** |');
    expect(md).toMatch(
      /\| Journal \| closed and sealed \(\d+ lines, sha256 [0-9a-f]{12}…, verified\);/,
    );
    assertSaysWhatTheJournalSays(entries, md);

    const page = fs.readFileSync(html, 'utf8');
    // One self-contained file: nothing to fetch, no script.
    expect(page).not.toMatch(
      /<script|<link[^>]+href="(?!data:)|src="(?!data:)|url\((?!data:)|@import/i,
    );
    const drawn = await inChromium(html);
    const opened = entries.find((e) => e.type === 'session-opened');
    if (opened?.type !== 'session-opened') throw new Error('no session-opened');
    const ran = new Set(entries.filter((e) => e.type === 'step-finished').map((e) => e.step));
    expect(drawn.rows).toBe(opened.plan.steps.length);
    expect(drawn.bars).toBe(ran.size);
    expect(drawn.phaseBars).toBeGreaterThan(0);
    const watched = new Set(entries.filter((e) => e.type === 'count-sampled').map((e) => e.step));
    expect(drawn.watchCharts).toBe(watched.size);
    expect(drawn.bandRects).toBe(watched.size);
    for (const d of drawn.countPaths) expect(d).toMatch(/^M[\d.]+ [\d.]+(L[\d.]+ [\d.]+)+/);
    expect(drawn.decisionRows).toBe(entries.filter((e) => e.type === 'decision').length);
    for (const e of entries)
      if (e.type === 'step-finished') expect(drawn.stepStatuses[e.step]).toBeDefined();
  });

  it('reports a crash, a resume, an unknown outcome, a failure and skips as the journal has them', async () => {
    const entries = entriesOf(failJournal);
    // The session really had them all.
    expect(entries.filter((e) => e.type === 'session-resumed')).toHaveLength(1);
    expect(entries.some((e) => e.type === 'prompt-shown' && e.prompt === 'unknown')).toBe(true);
    expect(entries.some((e) => e.type === 'step-finished' && e.outcome === 'failed')).toBe(true);
    expect(
      entries.filter((e) => e.type === 'step-finished' && e.outcome === 'skipped').length,
    ).toBeGreaterThanOrEqual(2);

    const {md, html} = await reports(failJournal, 'rough');
    assertSaysWhatTheJournalSays(entries, md);
    const plain = unescape(md);
    expect(section(plain, 'Interruptions')).toContain('stopped without leaving');
    expect(section(plain, 'Unknown outcomes')).toMatch(
      /4\.2 Clean up CSCs and daemons on the DM and Camera machines: outcome unknown at .*decided \*\*retry\*\*.*; then ok/,
    );
    const skips = section(plain, 'Skipped steps');
    expect(skips).toContain(
      'cleanup_all -d also removes the OSPL daemons) — failed; skipped by --on-failure skip',
    );
    expect(skips).toContain(
      '4.7 Wait until every daemon has disconnected — timed out; --on-timeout skip',
    );
    expect(section(plain, 'Timeline')).toContain('failed → skipped');
    expect(section(plain, 'Output excerpts')).toContain('argocd token expired');
    expect(section(plain, 'Watches')).toContain(
      '4.7 Wait until every daemon has disconnected: target = 0',
    );

    const drawn = await inChromium(html);
    expect(drawn.breaks).toBe(1);
    expect(drawn.stepStatuses['cleanup/k8s-cleanup']).toBe('skipped');
    expect(drawn.stepStatuses['cleanup/dm-camera-down']).toBe('ok');
    expect(drawn.watchCharts).toBe(2);
    for (const d of drawn.countPaths) expect(d.length).toBeGreaterThan(10);
  });

  it('says so plainly for a session that does not exist or a file that is not a journal', async () => {
    const missing = await cli(['report', 'no-such-session'], {state: dir});
    expect(missing.exitCode).toBe(2);
    expect(missing.all).toContain('no session "no-such-session"');
    const junk = path.join(dir, 'junk.jsonl');
    fs.writeFileSync(junk, 'hello\n');
    const bad = await cli(['report', junk], {state: dir});
    expect(bad.exitCode).toBe(4);
    expect(bad.all).toContain('not a crewchief journal');
    expect(bad.all).not.toMatch(/\n\s+at /);
  });
});
