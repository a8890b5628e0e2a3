/** The header at 80 columns: nothing a driver needs is cut without saying so. */
import {cleanup, render} from 'ink-testing-library';
import React from 'react';
import {afterEach, describe, expect, it} from 'vitest';
import {Header} from '../../source/ui/components/header.js';
import {LiveBar} from '../../source/ui/components/replay-bar.js';
import {shortPath} from '../../source/ui/short-path.js';
import {linesOf, plain, storeAt} from './fixtures.js';

afterEach(() => cleanup());

const HOSTS = [
  'db-primary-01',
  'db-replica-02',
  'web-frontend-03',
  'web-frontend-04',
  'cache-05',
  'queue-06',
  'batch-07',
  'edge-08',
];

function header(width: number, transport?: 'local') {
  const {store} = storeAt(1);
  const base = store.getState();
  const state = {
    ...base,
    session: {
      ...base.session!,
      siteTitle: 'A very long site title that takes most of the line by itself',
      driver: 'someone.with.a.long.name@bastion-01.example.org',
      ...(transport ? {transport} : {}),
    },
    steps: [{...base.steps[0]!, hosts: HOSTS}],
  };
  const r = render(
    <Header state={state} mode="live" now={Date.parse('2026-11-20T10:05:00Z')} width={width} />,
  );
  return linesOf(plain(r.lastFrame()));
}

describe('the header at 80 columns', () => {
  it('keeps the driver whole, cutting the site title instead', () => {
    const [first] = header(80);
    expect(first).toMatch(/│ someone\.with\.a\.long\.name@bastion-01\.example\.org\s*$/);
    expect(first).toContain('…');
    expect(first!.length).toBeLessThanOrEqual(80);
  });

  it('says "+N" for the hosts it hides and never cuts the session id', () => {
    const [, second] = header(80);
    expect(second).toMatch(/\+\d+ +· session demo-test-20261120T100000-abcd\s*$/);
    const shown = HOSTS.filter((h) => second!.includes(h)).length;
    expect(second).toContain(`+${HOSTS.length - shown} `);
    expect(shown).toBeGreaterThan(0);
  });

  it('keeps the whole session id with the local transport at 80 columns (the note gets short)', () => {
    const [, small] = header(80, 'local');
    expect(small).toMatch(/^hosts \(local\) .*· session demo-test-20261120T100000-abcd\s*$/);
    const [, wide] = header(200, 'local');
    expect(wide).toContain('hosts (all run here: local transport) ');
    expect(wide).toMatch(/· session demo-test-20261120T100000-abcd\s*$/);
  });
});

describe('the status line shows where the journal is (issue 12 #8)', () => {
  const home = '/home/driver';
  const path = `${home}/.local/state/crewchief/sessions/rubin-rubin-tts-demo-20261202T054949-2b3b.jsonl`;
  const bar = (width: number, journalPath = path) =>
    linesOf(
      plain(
        render(
          <LiveBar
            events={123}
            last="2026-12-02T05:50:09Z"
            readOnly={false}
            width={width}
            journalPath={journalPath}
            home={home}
          />,
        ).lastFrame(),
      ),
    )[0]!;

  it('whole when it fits, with ~ for the home directory', () => {
    expect(bar(100, `${home}/.local/state/crewchief/sessions/demo-2b3b.jsonl`)).toBe(
      '● live · 123 events in ~/.local/state/crewchief/sessions/demo-2b3b.jsonl · last at 05:50:09',
    );
  });

  it('at 80 columns: the count and the time stay, the path loses its middle', () => {
    const line = bar(80);
    expect(line.length).toBeLessThanOrEqual(80);
    expect(line).toMatch(
      /^● live · 123 events in ~\/\.local\/\S*…\S*-2b3b\.jsonl · last at 05:50:09$/,
    );
  });

  it('shortPath keeps the head and the file name and never exceeds its room', () => {
    for (let room = 8; room < 90; room++) {
      const short = shortPath(path, room, home);
      expect(short.length).toBeLessThanOrEqual(room);
      if (room >= 40) expect(short).toMatch(/^~\/\.local.*-2b3b\.jsonl$/);
    }
    expect(shortPath('/srv/j.jsonl', 80, home)).toBe('/srv/j.jsonl');
    expect(shortPath('/home/driverx/j.jsonl', 80, home)).toBe('/home/driverx/j.jsonl');
  });
});
