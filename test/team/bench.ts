/**
 * Team-mode measurements (not a test): run with
 *   npm run build && npx tsx test/team/bench.ts [postgres://…/db]
 *
 * 1. Events per second the PostgreSQL mirror sustains while a step prints a flood of
 *    output (a real local command, every line journaled), and the mirror's own ceiling
 *    (events pushed as fast as the journal takes them).
 * 2. The delay from an event written (its journal time) to its arrival in `watch`, from
 *    PostgreSQL and from the file: median, 95th percentile and worst, for the demo and
 *    for the flood.
 */
import fs from 'node:fs';
import path from 'node:path';
import {watch} from '../../source/commands/watch.js';
import {launch} from '../../source/services/open.js';
import type {JournalEntry} from '../../source/journal/events.js';
import {JournalWriter} from '../../source/journal/file.js';
import {journalOnDisk, PgMirror} from '../../source/journal/pg-mirror.js';
import {cli} from '../helpers/cli.js';
import {tempDir, writeFile, writeMachine} from '../helpers/fixtures.js';
import {ADMIN_URL, createDatabase, eventually} from './pg.js';

const FLOOD_LINES = Number(process.env['FLOOD_LINES'] ?? 200_000);

const stats = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {n: sorted.length, median: at(0.5), p95: at(0.95), worst: sorted.at(-1)!};
};

const fmt = (s: ReturnType<typeof stats>) =>
  `n=${s.n} median=${s.median} ms p95=${s.p95} ms worst=${s.worst} ms`;

/** Follows a session with `watch` in this process; returns the delay of every entry. */
function follow(options: {session?: string; file?: string; journalDb?: string}) {
  const delays: number[] = [];
  const done = watch(options.session ? [options.session] : [], {
    plain: true,
    ...(options.journalDb ? {journalDb: options.journalDb} : {}),
    ...(options.file ? {file: options.file} : {}),
    write: () => {},
    onEntries: (entries: JournalEntry[], at: number) => {
      for (const e of entries) delays.push(at - Date.parse(e.time));
    },
  });
  return {delays, done};
}

async function flood(url: string): Promise<void> {
  const dir = tempDir('cc-bench-');
  const machine = writeMachine(
    dir,
    'flood',
    `export default site({id: 'flood', title: 'Flood', phases: [phase({id: 'p', title: 'P', steps: [
      command({id: 'flood', title: 'Flood', run: 'i=0; while [ $i -lt ${FLOOD_LINES} ]; do echo "flood line $i of the output a chatty step prints"; i=$((i+1)); done'}),
    ]})]});`,
  );
  const profile = writeFile(
    dir,
    'flood.yaml',
    'site: flood\ntransport: local\njournal: {output_cap: 1GB}\n',
  );
  const journalPath = path.join(dir, 'flood.jsonl');
  const launched = await launch(machine, profile, {
    version: 'bench',
    journalPath,
    driver: 'bench@here',
    team: {journalDb: url, lockDir: path.join(dir, 'locks'), mirrorCloseMs: 120_000},
  });
  const team = launched.team!;
  const samples: {t: number; journaled: number; mirrored: number}[] = [];
  let first = 0;
  let last = 0;
  launched.journal.onEntry((e) => {
    if (e.type === 'output') {
      first ||= performance.now();
      last = performance.now();
    }
  });
  const sampler = setInterval(() => {
    const s = team.mirrorStatus();
    if (s) samples.push({t: performance.now(), journaled: s.journaled, mirrored: s.mirrored});
  }, 100);
  await new Promise((r) => setTimeout(r, 500)); // let the mirror connect
  const session = JSON.parse(fs.readFileSync(journalPath, 'utf8').split('\n')[0]!).session;
  const watcher = follow({session, journalDb: url});
  team.start();
  launched.session.start();
  await launched.session.done;
  const stepEnded = performance.now();
  await team.settle();
  launched.journal.close();
  await eventually(
    () => team.mirrorStatus()!.mirrored >= launched.journal.lastSeq,
    'the mirror to catch up',
    120_000,
  );
  const caughtUp = performance.now();
  clearInterval(sampler);
  await team.close();
  await watcher.done;
  const outputs = launched.journal.stats.events;
  const seconds = (last - first) / 1000;
  const maxLag = Math.max(...samples.map((s) => s.journaled - s.mirrored));
  const mirroredDuring = samples.filter((s) => s.t <= stepEnded).at(-1)?.mirrored ?? 0;
  console.log(`\n# Flood: ${FLOOD_LINES} lines from a local command, every byte journaled`);
  console.log(
    `journal: ${outputs} events in ${seconds.toFixed(2)} s = ${Math.round(outputs / seconds)} events/s appended (${launched.journal.stats.bytes} bytes)`,
  );
  console.log(
    `mirror: ${mirroredDuring} events in PostgreSQL when the step ended; caught up ${Math.round(caughtUp - stepEnded)} ms later; largest lag ${maxLag} events`,
  );
  console.log(
    `mirror sustained: ${Math.round(launched.journal.lastSeq / ((caughtUp - first) / 1000))} events/s over the flood`,
  );
  console.log(`watch (PostgreSQL) delay during the flood: ${fmt(stats(watcher.delays))}`);
  fs.rmSync(dir, {recursive: true, force: true});
}

async function ceiling(url: string): Promise<void> {
  const dir = tempDir('cc-bench-');
  const file = path.join(dir, 'ceiling.jsonl');
  const journal = JournalWriter.create(file, 'ceiling-session');
  const disk = journalOnDisk(journal);
  const mirror = new PgMirror({
    url,
    session: 'ceiling-session',
    journalPath: file,
    lastSeq: 0,
    durableSeq: disk.seq,
    flush: () => journal.flush(),
  });
  journal.onEntry((e) => {
    disk.saw(e);
    mirror.push(e);
  });
  mirror.start();
  await eventually(() => mirror.status().state === 'up', 'the mirror to connect');
  const n = 100_000;
  const started = performance.now();
  for (let i = 0; i < n; i++)
    journal.append({
      type: 'output',
      step: 'p/s',
      host: 'local',
      stream: 'stdout',
      text: `line ${i} of a flood of output\n`,
    });
  const appended = performance.now();
  await mirror.caughtUp(n);
  const done = performance.now();
  journal.close();
  await mirror.close();
  console.log(`\n# Ceiling: ${n} events appended as fast as the journal takes them`);
  console.log(
    `journal: ${Math.round(n / ((appended - started) / 1000))} events/s appended; mirror: all in PostgreSQL after ${Math.round(done - started)} ms = ${Math.round(n / ((done - started) / 1000))} events/s (${mirror.stats.batches} batches)`,
  );
  fs.rmSync(dir, {recursive: true, force: true});
}

async function demo(url: string): Promise<void> {
  const state = tempDir('cc-bench-');
  const run = cli(['demo', '--plain', '--journal-db', url], {state});
  const sessions = path.join(state, 'crewchief', 'sessions');
  const file = await eventually(
    () => fs.existsSync(sessions) && fs.readdirSync(sessions).find((f) => f.endsWith('.jsonl')),
    'the demo journal',
  );
  const session = file.replace(/\.jsonl$/, '');
  const fromDb = follow({session, journalDb: url});
  const fromFile = follow({file: path.join(sessions, file)});
  await run;
  await Promise.all([fromDb.done, fromFile.done]);
  // The first events were written before the watchers started: leave them out.
  const live = (d: number[]) => d.slice(20);
  console.log('\n# Demo session (rubin-tts-demo), watch started with the driver');
  console.log(`watch (PostgreSQL LISTEN/NOTIFY): ${fmt(stats(live(fromDb.delays)))}`);
  console.log(`watch (journal file):             ${fmt(stats(live(fromFile.delays)))}`);
  fs.rmSync(state, {recursive: true, force: true});
}

const db = await createDatabase('bench', process.argv[2] ?? ADMIN_URL);
try {
  await ceiling(db.url);
  await flood(db.url);
  await demo(db.url);
} finally {
  await db.drop();
}
