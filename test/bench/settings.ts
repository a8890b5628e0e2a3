/** How much the benchmark does: full, --quick or --smoke. */
export interface Settings {
  mode: 'full' | 'quick' | 'smoke';
  /** Runs of every tool in every case (alternating). */
  rounds: number;
  /** Polls in a row (the poll case). */
  polls: number;
  /** Host aliases the bench's sshd gets (h01…): the largest fan-out. */
  hosts: number;
  /** Hosts in the cold and warm fan-out cases. */
  fleetHosts: number;
  /** Fan-out sizes of the scale case (time and memory per added host). */
  scaleHosts: number[];
  /** Bytes of output in the output case. */
  bigBytes: number;
  /** Events in the replayed journal. */
  journalEvents: number;
  /** Events in the long replayed journal (time and peak memory). */
  bigJournalEvents: number;
  /** Seconds the console waits at a gate (the idle case). */
  idleSeconds: number;
  /** Runs of `--help` and `node -e 0` per round. */
  startupRuns: number;
}

export function settingsFor(mode: Settings['mode']): Settings {
  switch (mode) {
    case 'smoke':
      return {
        mode,
        rounds: 1,
        polls: 5,
        hosts: 5,
        fleetHosts: 5,
        scaleHosts: [2, 5],
        bigBytes: 20e6,
        journalEvents: 5000,
        bigJournalEvents: 20_000,
        idleSeconds: 2,
        startupRuns: 3,
      };
    case 'quick':
      return {
        mode,
        rounds: 2,
        polls: 30,
        hosts: 200,
        fleetHosts: 50,
        scaleHosts: [10, 50, 200],
        bigBytes: 200e6,
        journalEvents: 100_000,
        bigJournalEvents: 1_000_000,
        idleSeconds: 10,
        startupRuns: 5,
      };
    default:
      return {
        mode,
        rounds: 5,
        polls: 30,
        hosts: 200,
        fleetHosts: 50,
        scaleHosts: [10, 50, 200],
        bigBytes: 200e6,
        journalEvents: 100_000,
        bigJournalEvents: 1_000_000,
        idleSeconds: 60,
        startupRuns: 4,
      };
  }
}
