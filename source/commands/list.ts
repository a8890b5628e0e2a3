/** `crewchief list`: sites, profiles and sessions. */
import {listSessions} from '../services/catalogue.js';
import {sessionsDir} from '../journal/file.js';
import {listProfiles, shippedSites} from '../runbook/load.js';

/** Rows as columns as wide as their widest cell. */
function table(rows: string[][]): string[] {
  const widths = rows.reduce<number[]>(
    (w, row) => row.map((cell, i) => Math.max(w[i] ?? 0, cell.length)),
    [],
  );
  return rows.map(
    (row) =>
      `  ${row.map((cell, i) => (i < row.length - 1 ? cell.padEnd(widths[i]!) : cell)).join('  ')}`,
  );
}

export async function list(
  write: (s: string) => void = (s) => void process.stdout.write(`${s}\n`),
  options: {json?: boolean} = {},
): Promise<number> {
  if (options.json) {
    write(
      JSON.stringify(
        {
          sites: [...(await shippedSites())].map(([id, {site, file}]) => ({
            id,
            title: site.title,
            file,
          })),
          profiles: listProfiles(),
          sessionsDir: sessionsDir(),
          sessions: listSessions(),
        },
        null,
        2,
      ),
    );
    return 0;
  }
  write('Sites:');
  table([...(await shippedSites())].map(([id, {site}]) => [id, site.title])).forEach(write);
  write('Profiles:');
  table(listProfiles().map((p) => [p.name, `site ${p.site}`, p.file])).forEach(write);
  const sessions = listSessions();
  write(`Sessions (${sessionsDir()}):`);
  if (!sessions.length) write('  none');
  table(
    sessions.map((s) => [
      s.id,
      s.closed ?? 'open',
      s.driver,
      `last ${s.last.slice(0, 19)}`,
      `${s.events} events`,
    ]),
  ).forEach(write);
  return 0;
}
