/** The header at 80 columns: nothing a driver needs is cut without saying so. */
import {cleanup, render} from 'ink-testing-library';
import React from 'react';
import {afterEach, describe, expect, it} from 'vitest';
import {Header} from '../../source/ui/components/header.js';
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

function header(width: number, journalPath?: string) {
  const {store} = storeAt(1);
  const base = store.getState();
  const state = {
    ...base,
    session: {
      ...base.session!,
      siteTitle: 'A very long site title that takes most of the line by itself',
      driver: 'someone.with.a.long.name@bastion-01.example.org',
    },
    steps: [{...base.steps[0]!, hosts: HOSTS}],
  };
  const r = render(
    <Header
      state={state}
      mode="live"
      now={Date.parse('2026-11-20T10:05:00Z')}
      width={width}
      {...(journalPath ? {journalPath} : {})}
    />,
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

  it('shows where the journal is when there is room, its name kept when cut', () => {
    const path = '/var/lib/crewchief/journals/demo-test-20261120T100000-abcd.jsonl';
    const [, wide] = header(260, path);
    expect(wide).toContain(`· journal ${path}`);
    expect(wide).not.toMatch(/\+\d/);
    const [, cut] = header(200, path);
    expect(cut).toMatch(/· journal …[^ ]*-abcd\.jsonl\s*$/);
  });
});
