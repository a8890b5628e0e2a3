/** `crewchief list`: sites, profiles and sessions. */
import {listSessions} from '../engine/launch.js';
import {sessionsDir} from '../journal/file.js';
import {listProfiles, shippedSites} from '../runbook/load.js';

export async function list(
  write: (s: string) => void = (s) => void process.stdout.write(`${s}\n`),
): Promise<number> {
  write('Sites:');
  for (const [id, {site}] of await shippedSites()) write(`  ${id.padEnd(20)} ${site.title}`);
  write('Profiles:');
  for (const p of listProfiles())
    write(`  ${p.name.padEnd(20)} site ${p.site.padEnd(18)} ${p.file}`);
  const sessions = listSessions();
  write(`Sessions (${sessionsDir()}):`);
  if (!sessions.length) write('  none');
  for (const s of sessions) {
    write(
      `  ${s.id.padEnd(44)} ${s.closed ?? 'open'.padEnd(8)} ${s.driver.padEnd(20)} last ${s.last.slice(0, 19)}  ${s.events} events`,
    );
  }
  return 0;
}
