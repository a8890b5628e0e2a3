/**
 * The report as one self-contained HTML page: inline CSS, inline SVG (a Gantt of phases
 * and steps, a chart per watch), no script, no font, no link to anything. Prints on A4
 * or Letter: colours are kept, figures do not split across pages.
 */
import {statusWord} from './markdown.js';
import {
  describeVia,
  formatDuration,
  formatTime,
  stepNotes,
  type Report,
  type WatchChart,
} from './model.js';

/** Escapes text for HTML content and attribute values. */
export const esc = (text: string): string =>
  text.replace(
    /[&<>"']/g,
    (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]!,
  );

const CSS = `
:root{--ok:#2e7d32;--done:#558b2f;--failed:#c62828;--skipped:#9e9e9e;--unknown:#ef6c00;--running:#1565c0;--phase:#37474f;--grid:#e0e0e0;--band:#c8e6c9;--ink:#212121}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);margin:2rem auto;max-width:1100px;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.15rem;border-bottom:1px solid var(--grid);padding-bottom:.2rem;margin-top:2rem}h3{font-size:1rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;vertical-align:top;padding:.25rem .5rem;border-bottom:1px solid var(--grid)}
th{background:#f5f5f5}table.summary th{width:9rem;background:none}
code,pre{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"Liberation Mono",monospace;font-size:12px}
pre{background:#fafafa;border:1px solid var(--grid);padding:.5rem;white-space:pre-wrap;word-break:break-word;max-height:none}
.s-ok,.s-done{color:var(--ok)}.s-failed,.s-timed-out{color:var(--failed);font-weight:600}.s-unknown{color:var(--unknown);font-weight:600}.s-skipped,.s-not-applicable,.s-not-chosen,.s-pending{color:#757575}
.outcome{font-weight:700}.outcome.bad{color:var(--failed)}.outcome.good{color:var(--ok)}.outcome.open{color:var(--unknown)}
svg{max-width:100%;height:auto;display:block}svg text{font:11px system-ui,sans-serif;fill:var(--ink)}
.bar{stroke:none}.bar.ok,.bar.done{fill:var(--ok)}.bar.failed,.bar.timed-out{fill:var(--failed)}.bar.skipped,.bar.canceled{fill:var(--skipped)}.bar.unknown,.bar.running,.bar.waiting{fill:var(--unknown)}.bar.phase{fill:var(--phase)}
.grid{stroke:var(--grid);stroke-width:1;fill:none}.axis{stroke:#9e9e9e;fill:none}.band{fill:var(--band)}.break{stroke:var(--failed);stroke-width:1.5;stroke-dasharray:4 3;fill:none}.count{fill:none;stroke:var(--running);stroke-width:2}.dot{fill:var(--running)}.stall{fill:var(--unknown)}
figure{margin:1rem 0;break-inside:avoid;page-break-inside:avoid}figcaption{font-weight:600;margin-bottom:.25rem}
.legend span{display:inline-block;margin-right:1rem}.legend i{display:inline-block;width:.8rem;height:.8rem;margin-right:.3rem;vertical-align:middle}
@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}pre{font-size:9px}*{-webkit-print-color-adjust:exact;print-color-adjust:exact}tr{break-inside:avoid}}
`;

const cls = (status: string): string => `s-${status}`;

/** The Gantt: one row per phase (dark) and per step that ran, on the session's clock. */
export function ganttSvg(r: Report): string {
  const rows: {
    label: string;
    start: number;
    end: number;
    cls: string;
    tip: string;
    phase: boolean;
  }[] = [];
  for (const p of r.phases) {
    if (!p.start || !p.end) continue;
    rows.push({
      label: p.title,
      start: Date.parse(p.start),
      end: Date.parse(p.end),
      cls: 'phase',
      tip: `${p.title}: ${formatDuration(p.durationMs)}`,
      phase: true,
    });
    for (const s of p.steps) {
      if (!s.start || !s.end) continue;
      rows.push({
        label: s.title,
        start: Date.parse(s.start),
        end: Date.parse(s.end),
        cls: s.status,
        tip: `${s.title}: ${statusWord(s.status)}, ${formatDuration(s.durationMs)}`,
        phase: false,
      });
    }
  }
  const t0 = Date.parse(r.start);
  const t1 = Math.max(Date.parse(r.end), t0 + 1);
  const labelW = 330;
  const width = 1000;
  const plotW = width - labelW - 10;
  const rowH = 16;
  const top = 22;
  const height = top + rows.length * rowH + 6;
  const x = (t: number): number => labelW + ((t - t0) / (t1 - t0)) * plotW;
  const ticks = niceTicks(t1 - t0, 8);
  const parts: string[] = [];
  const grid: string[] = [];
  for (const tick of ticks) {
    const tx = x(t0 + tick).toFixed(1);
    grid.push(`M${tx} ${top - 4}V${height}`);
    parts.push(
      `<text x="${tx}" y="${top - 8}" text-anchor="middle">${tick === 0 ? '0' : esc(formatDuration(tick))}</text>`,
    );
  }
  parts.unshift(`<path class="grid" d="${grid.join('')}"/>`);
  for (const i of r.interruptions) {
    const ix = x(Date.parse(i.at)).toFixed(1);
    parts.push(
      `<path class="break" d="M${ix} ${top - 4}V${height}"><title>${esc(`${formatTime(i.at)}: ${i.cause}; resumed ${formatTime(i.resumed)}`)}</title></path>`,
    );
  }
  rows.forEach((row, i) => {
    const y = top + i * rowH;
    const label = row.label.length > 52 ? `${row.label.slice(0, 51)}…` : row.label;
    parts.push(
      `<text x="${row.phase ? 2 : 12}" y="${y + 12}"${row.phase ? ' font-weight="700"' : ''}>${esc(label)}</text>`,
    );
    const bx = x(row.start);
    const bw = Math.max(2, x(row.end) - bx);
    parts.push(
      `<rect class="bar ${esc(row.cls)}" data-kind="${row.phase ? 'phase' : 'step'}" x="${bx.toFixed(1)}" y="${y + 3}" width="${bw.toFixed(1)}" height="${rowH - 6}"><title>${esc(row.tip)}</title></rect>`,
    );
  });
  return `<svg class="gantt" role="img" aria-label="Timeline of phases and steps" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** A watch: the count over time, with the band it had to reach. */
export function watchSvg(w: WatchChart): string {
  const width = 640;
  const height = 180;
  const left = 44;
  const right = 10;
  const top = 10;
  const bottom = 24;
  const points = w.samples
    .map((s) => ({t: Date.parse(s.time), v: s.value}))
    .filter((p) => Number.isFinite(p.t));
  const values = points.map((p) => p.v).filter((v): v is number => v !== null);
  const finiteBand = [w.band?.low, w.band?.high].filter(
    (v): v is number => v !== undefined && Number.isFinite(v),
  );
  let lo = Math.min(...values, ...finiteBand);
  let hi = Math.max(...values, ...finiteBand);
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (hi === lo) {
    hi += 1;
    lo -= 1;
  }
  const pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  const t0 = points[0]?.t ?? 0;
  const t1 = Math.max(points.at(-1)?.t ?? 1, t0 + 1);
  const x = (t: number): number => left + ((t - t0) / (t1 - t0)) * (width - left - right);
  const y = (v: number): number => top + ((hi - v) / (hi - lo)) * (height - top - bottom);
  const parts: string[] = [];
  if (w.band) {
    const yHigh = y(Math.min(hi, w.band.high));
    const yLow = y(Math.max(lo, w.band.low));
    parts.push(
      `<rect class="band" x="${left}" y="${yHigh.toFixed(1)}" width="${width - left - right}" height="${Math.max(2, yLow - yHigh).toFixed(1)}"><title>target ${esc(w.target)}</title></rect>`,
    );
  }
  const axis = `M${left} ${top}V${height - bottom}H${width - right}`;
  parts.push(`<path class="axis" d="${axis}"/>`);
  for (const v of [lo + pad, (lo + hi) / 2, hi - pad]) {
    parts.push(
      `<text x="${left - 4}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${esc(String(Math.round(v * 100) / 100))}</text>`,
    );
  }
  parts.push(
    `<text x="${left}" y="${height - 6}">${esc(formatTime(w.samples[0]?.time).slice(11))}</text>`,
    `<text x="${width - right}" y="${height - 6}" text-anchor="end">+${esc(formatDuration(t1 - t0))}</text>`,
  );
  // A null sample (the probe printed no number) breaks the line.
  let d = '';
  let pen = false;
  for (const p of points) {
    if (p.v === null) {
      pen = false;
      continue;
    }
    d += `${pen ? 'L' : 'M'}${x(p.t).toFixed(1)} ${y(p.v).toFixed(1)}`;
    pen = true;
  }
  parts.push(`<path class="count" d="${d}"/>`);
  for (const p of points)
    if (p.v !== null)
      parts.push(`<circle class="dot" cx="${x(p.t).toFixed(1)}" cy="${y(p.v).toFixed(1)}" r="2"/>`);
  for (const s of w.stalls) {
    const t = Date.parse(s.time);
    if (s.value !== null && t >= t0 && t <= t1)
      parts.push(
        `<circle class="stall" cx="${x(t).toFixed(1)}" cy="${y(s.value).toFixed(1)}" r="4"><title>no progress for ${esc(formatDuration(s.sinceMs))}</title></circle>`,
      );
  }
  return `<svg class="watch" data-step="${esc(w.step)}" role="img" aria-label="${esc(`${w.title}: count over time, target ${w.target}`)}" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}">${parts.join('')}</svg>`;
}

/** Round tick steps (1s, 5s, 10s, 30s, 1m, 5m …) so that about `count` fit. */
function niceTicks(spanMs: number, count: number): number[] {
  const steps = [
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14_400, 43_200, 86_400,
  ].map((s) => s * 1000);
  const step = steps.find((s) => spanMs / s <= count) ?? steps.at(-1)!;
  const ticks: number[] = [];
  for (let t = 0; t <= spanMs; t += step) ticks.push(t);
  return ticks;
}

const outcomeClass = (r: Report): string =>
  r.outcome === 'finished' ? 'good' : r.outcome === 'left open' ? 'open' : 'bad';

export function renderHtml(r: Report): string {
  const h: string[] = [];
  const title = `${r.siteTitle} — ${r.profile}: session report`;
  h.push(
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // No request may leave the page: not even a favicon.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<link rel="icon" href="data:,">',
    `<title>${esc(title)}</title><style>${CSS}</style></head><body>`,
    `<h1>${esc(title)}</h1>`,
  );
  const summary: [string, string][] = [
    ['Session', `<code>${esc(r.session)}</code>`],
    ['Site', `${esc(r.siteTitle)} (<code>${esc(r.site)}</code>)`],
    ['Profile', `<code>${esc(r.profile)}</code>${r.release ? `, release ${esc(r.release)}` : ''}`],
    [
      'Drivers',
      r.drivers
        .map(
          (d) =>
            `${esc(d.driver)} <small>(${esc(d.how)} ${esc(formatTime(d.from))}${d.reason ? `: ${esc(d.reason)}` : ''})</small>`,
        )
        .join(' → '),
    ],
    ['Start', esc(formatTime(r.start))],
    ['End', `${esc(formatTime(r.end))} (${esc(formatDuration(r.durationMs))})`],
    ['Outcome', `<span class="outcome ${outcomeClass(r)}">${esc(r.outcomeText)}</span>`],
    ['Journal', `${esc(r.integrity.text)}; version ${r.journalVersion}, ${r.events} events`],
    ['Transport', `${esc(r.transport)}${r.dryRun ? ' (dry run: nothing ran)' : ''}`],
    ['crewchief', esc(r.version)],
  ];
  h.push(
    `<table class="summary" id="summary">${summary.map(([k, v]) => `<tr><th>${k}</th><td>${v}</td></tr>`).join('')}</table>`,
  );
  if (r.interruptions.length) {
    h.push('<h2>Interruptions</h2><ul id="interruptions">');
    for (const i of r.interruptions)
      h.push(
        `<li>${esc(formatTime(i.at))}: ${i.crashed ? '<strong>stopped without leaving</strong> — ' : ''}${esc(i.cause)}; resumed ${esc(formatTime(i.resumed))} by ${esc(i.resumedBy)}</li>`,
      );
    h.push('</ul>');
  }

  h.push('<h2>Timeline</h2>', '<figure id="timeline">', ganttSvg(r));
  h.push(
    '<figcaption class="legend">',
    ...[
      ['ok', 'ok / done'],
      ['failed', 'failed / timed out'],
      ['unknown', 'unknown / no end'],
      ['skipped', 'skipped'],
      ['phase', 'phase'],
    ].map(([c, label]) => `<span><i style="background:var(--${c})"></i>${label}</span>`),
    r.interruptions.length
      ? '<span><i style="border-left:2px dashed var(--failed);width:0"></i>session stopped and resumed</span>'
      : '',
    '</figcaption></figure>',
  );
  h.push(
    '<table id="steps"><thead><tr><th>Phase / step</th><th>Kind</th><th>Outcome</th><th>Started</th><th>Took</th><th>Notes</th></tr></thead><tbody>',
  );
  for (const p of r.phases) {
    h.push(
      `<tr class="phase"><th colspan="3">${esc(p.title)}${p.applies ? '' : ` <small>(not applicable${p.reason ? `: ${esc(p.reason)}` : ''})</small>`}</th><th>${esc(formatTime(p.start))}</th><th>${esc(formatDuration(p.durationMs))}</th><th></th></tr>`,
    );
    for (const s of p.steps)
      h.push(
        `<tr class="step" data-step="${esc(s.key)}" data-status="${esc(s.status)}"><td>${s.branch ? '↳ ' : ''}${esc(s.title)}</td><td>${esc(s.kind)}</td><td class="${cls(s.status)}">${esc(statusWord(s.status))}</td><td>${esc(formatTime(s.start))}</td><td>${esc(formatDuration(s.durationMs))}</td><td>${esc(stepNotes(s))}</td></tr>`,
      );
  }
  h.push('</tbody></table>');

  h.push('<h2>Decisions</h2>');
  h.push(
    r.decisions.length
      ? `<table id="decisions"><thead><tr><th>When</th><th>Step</th><th>Decision</th><th>Who</th><th>How</th><th>Why</th></tr></thead><tbody>${r.decisions
          .map(
            (d) =>
              `<tr class="decision" data-seq="${d.seq}"><td>${esc(formatTime(d.time))}</td><td>${esc(d.stepTitle)}</td><td>${esc(d.decision)}${d.value && d.value !== d.decision ? ` <code>${esc(d.value)}</code>` : ''}</td><td>${esc(d.by)}</td><td>${esc(describeVia(d.via))}</td><td>${esc(d.reason ?? '')}</td></tr>`,
          )
          .join('')}</tbody></table>`
      : '<p>No decisions were needed.</p>',
  );

  h.push('<h2>Skipped steps</h2>');
  h.push(
    r.skips.length
      ? `<ul id="skips">${r.skips.map((s) => `<li>${esc(s.title)} — ${esc(s.reason)}</li>`).join('')}</ul>`
      : '<p>None.</p>',
  );
  if (r.notApplicable.length)
    h.push(
      `<p>Not applicable on this profile: ${r.notApplicable.map((s) => `${esc(s.title)} (${esc(s.reason)})`).join('; ')}.</p>`,
    );

  h.push('<h2>Unknown outcomes</h2>');
  h.push(
    r.unknowns.length
      ? `<ul id="unknowns">${r.unknowns
          .map(
            (u) =>
              `<li>${esc(u.stepTitle)}: outcome unknown at ${esc(formatTime(u.time))}; ${
                u.resolution
                  ? `${esc(u.resolution.by)} decided <strong>${esc(u.resolution.decision)}</strong> (${esc(describeVia(u.resolution.via))}) at ${esc(formatTime(u.resolution.time))}${u.resolution.reason ? ` — ${esc(u.resolution.reason)}` : ''}`
                  : 'not resolved yet'
              }; then <span class="${cls(u.finally)}">${esc(statusWord(u.finally))}</span></li>`,
          )
          .join('')}</ul>`
      : '<p>None.</p>',
  );

  if (r.fanOuts.length) {
    h.push('<h2>Per-host results</h2>');
    for (const s of r.fanOuts) {
      h.push(
        `<h3>${esc(s.title)}</h3><table class="hosts"><thead><tr><th>Host</th><th>Outcome</th><th>Exit</th><th>Command</th></tr></thead><tbody>`,
      );
      for (const run of s.runs) {
        const res = s.hosts.find((x) => x.host === run.host);
        h.push(
          `<tr><td><code>${esc(run.host)}</code></td><td class="${cls(res?.outcome ?? 'pending')}">${esc(res ? statusWord(res.outcome) : 'no result')}</td><td>${res?.exitCode === undefined || res.exitCode === null ? '—' : res.exitCode}</td><td><code>${esc(run.command)}</code>${res?.error ? ` — ${esc(res.error)}` : ''}</td></tr>`,
        );
      }
      h.push('</tbody></table>');
    }
  }

  if (r.watches.length) {
    h.push('<h2>Watches</h2>');
    for (const w of r.watches) {
      const last = w.samples.at(-1)?.value;
      h.push(
        `<figure class="watch-figure"><figcaption>${esc(w.title)} — target ${esc(w.target)}; last ${esc(String(last ?? '?'))}; <span class="${cls(w.status)}">${esc(statusWord(w.status))}</span></figcaption>${watchSvg(w)}</figure>`,
      );
    }
  }

  if (r.notices.length || r.links.length) {
    h.push('<h2>Warnings and links</h2><ul id="notices">');
    for (const n of r.notices)
      h.push(`<li>${esc(formatTime(n.time))} ${esc(n.level)}: ${esc(n.text)}</li>`);
    for (const l of r.links)
      h.push(
        `<li>${esc(formatTime(l.time))} link to <code>${esc(l.host)}</code> ${esc(l.state)}${l.error ? `: ${esc(l.error)}` : ''}</li>`,
      );
    h.push('</ul>');
  }

  if (r.excerpts.length) {
    h.push(
      '<h2>Output excerpts</h2><p><em>As the journal kept them: secrets were redacted before they were written.</em></p>',
    );
    for (const x of r.excerpts)
      h.push(
        `<h3>${esc(x.stepTitle)} <small>on <code>${esc(x.host)}</code>, last ${x.shownLines} of ${x.lines} lines, ${x.bytes} bytes${x.omittedBytes ? `, ${x.omittedBytes} not kept` : ''}</small></h3><pre class="excerpt">${esc(x.text)}</pre>`,
      );
  }
  h.push(
    `<footer><p><small>crewchief report from the journal of ${esc(r.session)}.</small></p></footer></body></html>`,
  );
  return `${h.join('\n')}\n`;
}
