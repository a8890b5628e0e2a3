/**
 * The report as CommonMark (GitHub-flavoured tables): renders in any Markdown viewer and
 * pastes into a ticket. Every value from the journal is escaped for its place.
 */
import {describeVia, formatDuration, formatTime, stepNotes, type Report} from './model.js';

/** Escapes text for a table cell or a line: no markup, no line breaks, no pipes. */
export const mdText = (text: string): string =>
  text
    .replace(/\r?\n/g, ' ')
    .replace(/([\\`*[\]<>|~])/g, '\\$1')
    // Underscores emphasise only at word edges (CommonMark): cleanup_all stays readable.
    .replace(/(^|[^\p{L}\p{N}])_|_(?=[^\p{L}\p{N}]|$)/gu, (m) => m.replace('_', '\\_'))
    .trim();

/** A fenced block whose fence is longer than any backtick run inside. */
export function mdFence(text: string, info = 'text'): string {
  const longest = Math.max(2, ...[...text.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  return `${fence}${info}\n${text}\n${fence}`;
}

const table = (head: readonly string[], rows: readonly (readonly string[])[]): string =>
  [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');

/** The words a reader sees for a step's outcome. */
export const statusWord = (status: string): string =>
  ({
    ok: 'ok',
    done: 'done',
    failed: 'FAILED',
    skipped: 'skipped',
    'timed-out': 'TIMED OUT',
    unknown: 'UNKNOWN',
    canceled: 'canceled',
    pending: 'not reached',
    running: 'running (no end)',
    waiting: 'waiting for the driver',
    'not-applicable': 'not applicable',
    'not-chosen': 'not chosen',
    standby: 'not needed',
  })[status] ?? status;

export function renderMarkdown(r: Report): string {
  const out: string[] = [];
  out.push(`# ${mdText(r.siteTitle)} — ${mdText(r.profile)}: session report`);
  out.push('');
  out.push(
    table(
      ['', ''],
      [
        ['Session', `\`${r.session}\``],
        ['Site', `${mdText(r.siteTitle)} (\`${r.site}\`)`],
        ['Profile', `\`${r.profile}\`${r.release ? `, release ${mdText(r.release)}` : ''}`],
        [
          'Drivers',
          r.drivers
            .map(
              (d) =>
                `${mdText(d.driver)} (${d.how} ${formatTime(d.from)}${d.reason ? `: ${mdText(d.reason)}` : ''})`,
            )
            .join(' → '),
        ],
        ['Start', formatTime(r.start)],
        ['End', `${formatTime(r.end)} (${formatDuration(r.durationMs)})`],
        ['Outcome', `**${mdText(r.outcomeText)}**`],
        ['Journal', `${mdText(r.integrity.text)}; version ${r.journalVersion}, ${r.events} events`],
        ['Transport', `${mdText(r.transport)}${r.dryRun ? ' (dry run: nothing ran)' : ''}`],
        ['crewchief', mdText(r.version)],
      ],
    ),
  );
  if (r.interruptions.length) {
    out.push('', '## Interruptions', '');
    for (const i of r.interruptions)
      out.push(
        `- ${formatTime(i.at)}: ${i.crashed ? '**stopped without leaving** — ' : ''}${mdText(i.cause)}; resumed ${formatTime(i.resumed)} by ${mdText(i.resumedBy)}`,
      );
  }

  out.push('', '## Timeline', '');
  const rows: string[][] = [];
  for (const p of r.phases) {
    rows.push([
      `**${mdText(p.title)}**`,
      '',
      p.applies ? '' : `not applicable${p.reason ? `: ${mdText(p.reason)}` : ''}`,
      formatTime(p.start),
      `**${formatDuration(p.durationMs)}**`,
      '',
    ]);
    for (const s of p.steps)
      rows.push([
        `${s.branch ? '↳ ' : ''}${mdText(s.title)}`,
        s.kind,
        statusWord(s.status),
        formatTime(s.start),
        formatDuration(s.durationMs),
        mdText(stepNotes(s)),
      ]);
  }
  out.push(table(['Phase / step', 'Kind', 'Outcome', 'Started', 'Took', 'Notes'], rows));

  out.push('', '## Decisions', '');
  out.push(
    r.decisions.length
      ? table(
          ['When', 'Step', 'Decision', 'Who', 'How', 'Why'],
          r.decisions.map((d) => [
            formatTime(d.time),
            mdText(d.stepTitle),
            `${d.decision}${d.value && d.value !== d.decision ? ` ${mdText(d.value)}` : ''}`,
            mdText(d.by),
            describeVia(d.via),
            d.reason ? mdText(d.reason) : '',
          ]),
        )
      : 'No decisions were needed.',
  );

  out.push('', '## Skipped steps', '');
  out.push(
    r.skips.length
      ? r.skips.map((s) => `- ${mdText(s.title)} — ${mdText(s.reason)}`).join('\n')
      : 'None.',
  );
  if (r.notApplicable.length)
    out.push(
      '',
      `Not applicable on this profile: ${r.notApplicable.map((s) => `${mdText(s.title)} (${mdText(s.reason)})`).join('; ')}.`,
    );

  out.push('', '## Unknown outcomes', '');
  out.push(
    r.unknowns.length
      ? r.unknowns
          .map(
            (u) =>
              `- ${mdText(u.stepTitle)}: outcome unknown at ${formatTime(u.time)}; ${
                u.resolution
                  ? `${mdText(u.resolution.by)} decided **${u.resolution.decision}** (${describeVia(u.resolution.via)}) at ${formatTime(u.resolution.time)}${u.resolution.reason ? ` — ${mdText(u.resolution.reason)}` : ''}`
                  : 'not resolved yet'
              }; then ${statusWord(u.finally)}`,
          )
          .join('\n')
      : 'None.',
  );

  if (r.fanOuts.length) {
    out.push('', '## Per-host results', '');
    for (const s of r.fanOuts) {
      out.push(`### ${mdText(s.title)}`, '');
      out.push(
        table(
          ['Host', 'Outcome', 'Exit', 'Command'],
          s.runs.map((run) => {
            const h = s.hosts.find((x) => x.host === run.host);
            return [
              `\`${run.host}\``,
              h ? statusWord(h.outcome) : 'no result',
              h?.exitCode === undefined || h.exitCode === null ? '—' : String(h.exitCode),
              `${mdText(run.command)}${h?.error ? ` — ${mdText(h.error)}` : ''}`,
            ];
          }),
        ),
        '',
      );
    }
  }

  if (r.watches.length) {
    out.push('', '## Watches', '');
    for (const w of r.watches) {
      const values = w.samples.map((s) => s.value);
      const first = values[0];
      const last = values.at(-1);
      out.push(
        `- ${mdText(w.title)}: target ${mdText(w.target)}; ${w.samples.length} samples from ${first ?? '?'} to ${last ?? '?'} (${formatTime(w.samples[0]?.time)} – ${formatTime(w.samples.at(-1)?.time)}); ${statusWord(w.status)}${w.stalls.length ? `; no progress ${w.stalls.length} time(s)` : ''}`,
      );
      out.push(`  ${mdText(sparkline(values))}`);
    }
  }

  if (r.notices.length || r.links.length) {
    out.push('', '## Warnings and links', '');
    for (const n of r.notices) out.push(`- ${formatTime(n.time)} ${n.level}: ${mdText(n.text)}`);
    for (const l of r.links)
      out.push(
        `- ${formatTime(l.time)} link to \`${l.host}\` ${l.state}${l.error ? `: ${mdText(l.error)}` : ''}`,
      );
  }

  if (r.excerpts.length) {
    out.push(
      '',
      '## Output excerpts',
      '',
      '_As the journal kept them: secrets were redacted before they were written._',
      '',
    );
    for (const x of r.excerpts) {
      out.push(
        `**${mdText(x.stepTitle)}** on \`${x.host}\` (last ${x.shownLines} of ${x.lines} lines, ${x.bytes} bytes${x.omittedBytes ? `, ${x.omittedBytes} not kept` : ''})`,
        '',
        mdFence(x.text),
        '',
      );
    }
  }
  return `${out.join('\n').replace(/\n{3,}/g, '\n\n')}\n`;
}

const BARS = '▁▂▃▄▅▆▇█';

/** A one-line picture of a count (Markdown has no charts). */
export function sparkline(values: readonly (number | null)[]): string {
  const nums = values.filter((v): v is number => v !== null);
  if (!nums.length) return '';
  const min = Math.min(...nums);
  const max = Math.max(...nums);
  const picked =
    values.length > 60 ? values.filter((_, i) => i % Math.ceil(values.length / 60) === 0) : values;
  return picked
    .map((v) =>
      v === null ? '·' : BARS[max === min ? 3 : Math.round(((v - min) / (max - min)) * 7)]!,
    )
    .join('');
}
