/**
 * A walk of every shipped machine (each site with its demo profile) without running an
 * actor: every state of every applicable step is reachable from the start, and from
 * every reachable state the session can still end (no trap the driver cannot leave).
 */
import {describe, expect, it} from 'vitest';
import type {AnyMachineSnapshot, AnyStateMachine, AnyStateNode, EventObject} from 'xstate';
import {getAdjacencyMap} from 'xstate/graph';
import {compileMachine} from '../../source/engine/machine.js';
import {resolvePlan, type ResolvedPlan} from '../../source/engine/plan.js';
import {findSite, listProfiles, shippedSites} from '../../source/runbook/load.js';
import {loadProfile} from '../../source/runbook/profile.js';

/** Every event a driver could send for this plan, and what the running step's actor could answer. */
function eventsFor(plan: ResolvedPlan): (state: AnyMachineSnapshot) => EventObject[] {
  const words = new Set<string>(['go']);
  const options = new Set<string>();
  const hosts = new Set<string>();
  for (const s of plan.steps) {
    if (s.danger) words.add(s.danger);
    if (s.step.kind === 'gate' && s.step.word) words.add(s.step.word);
    if (s.step.kind === 'choice') for (const o of s.step.options) options.add(o.id);
    if (s.hosts !== 'local') for (const h of s.hosts) hosts.add(h.name);
  }
  const driver: object[] = [
    {type: 'BEGIN'},
    {type: 'TICK'},
    ...[...words].flatMap((value) => [
      {type: 'GO', value},
      {type: 'CONFIRM', value},
    ]),
    ...[...options].map((option) => ({type: 'CHOOSE', option})),
    {type: 'SKIP', reason: 'walk'},
    {type: 'RETRY'},
    {type: 'MARK_DONE', reason: 'walk'},
    {type: 'ABORT', reason: 'walk'},
    {type: 'ROLLBACK'},
    {type: 'KEEP_WAITING'},
    {type: 'INVESTIGATE'},
    {type: 'CANCEL'},
    ...[...hosts].slice(0, 1).map((host) => ({type: 'EXCLUDE', host, reason: 'walk'})),
  ];
  // An actor's answer reaches only the state that invoked it (an unhandled error event
  // would stop the machine, which is not a path a session takes).
  const answers = (id: string): object[] => [
    ...['ok', 'failed', 'unknown', 'timed-out'].map((outcome) => ({
      type: `xstate.done.actor.${id}`,
      output: {outcome, durationMs: 1},
    })),
    {type: `xstate.error.actor.${id}`, error: new Error('walk')},
  ];
  return (state) => {
    const running = Object.keys(state.children);
    return [...driver, ...running.flatMap(answers)] as EventObject[];
  };
}

/** Leaf states a snapshot can rest in (transient ones, left by `always`, excluded). */
function restingLeaves(node: AnyStateNode): string[] {
  const children = Object.values(node.states) as AnyStateNode[];
  if (!children.length) return node.always?.length ? [] : [node.id];
  return children.flatMap(restingLeaves);
}

const demos = () =>
  listProfiles()
    .filter((p) => p.name.endsWith('-demo'))
    .map((p) => [p.site, p.file] as const);

describe('every shipped machine, walked', () => {
  it('has a demo profile for every shipped site', async () => {
    const sites = [...(await shippedSites()).keys()].sort();
    expect(
      demos()
        .map(([site]) => site)
        .sort(),
    ).toEqual(sites);
  });

  it.each(demos())('%s: every state is reachable and every path can end', async (name, file) => {
    const {site} = await findSite(name);
    const plan = resolvePlan(site, loadProfile(file));
    const machine = compileMachine(plan) as unknown as AnyStateMachine;
    // The step and how often it ran (up to the automatic limit) is the state; the clock is not.
    const serialize = (s: AnyMachineSnapshot): string =>
      `${JSON.stringify(s.value)}#${Math.min(3, (s.context as {attempt: number}).attempt)}#${s.status}`;
    const adjacency = getAdjacencyMap<AnyMachineSnapshot, EventObject, unknown>(machine, {
      input: {vars: {}},
      events: eventsFor(plan),
      serializeState: serialize,
    }) as unknown as Record<
      string,
      {state: AnyMachineSnapshot; transitions: Record<string, {state: AnyMachineSnapshot}>}
    >;
    const ids = (key: string): string[] =>
      adjacency[key]!.state._nodes.filter((n) => !Object.keys(n.states).length).map((n) => n.id);

    // Reachable: every resting leaf of every applicable step, and the final states.
    const seen = new Set(Object.keys(adjacency).flatMap(ids));
    const expected = restingLeaves(machine.root).filter((id) => id !== 'session.starting');
    const missing = expected.filter((id) => !seen.has(id));
    expect(missing, `${name}: never reached`).toEqual([]);
    expect(seen.has('finished')).toBe(true);
    expect(seen.has('aborted')).toBe(true);

    // Every path ends: from each reachable state, a final state is reachable.
    const reverse = new Map<string, Set<string>>();
    for (const [from, entry] of Object.entries(adjacency))
      for (const t of Object.values(entry.transitions)) {
        const to = serialize(t.state);
        if (!reverse.has(to)) reverse.set(to, new Set());
        reverse.get(to)!.add(from);
      }
    const canEnd = new Set(
      Object.keys(adjacency).filter((k) => adjacency[k]!.state.status === 'done'),
    );
    const queue = [...canEnd];
    while (queue.length) {
      const k = queue.pop()!;
      for (const from of reverse.get(k) ?? [])
        if (!canEnd.has(from)) {
          canEnd.add(from);
          queue.push(from);
        }
    }
    const traps = Object.keys(adjacency).filter((k) => !canEnd.has(k));
    expect(traps, `${name}: states from which the session cannot end`).toEqual([]);
    expect(Object.keys(adjacency).length).toBeGreaterThan(
      plan.steps.filter((s) => s.applies).length,
    );
  });
});
