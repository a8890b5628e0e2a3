/**
 * What the engine lets a mode add around a session without knowing it (team mode
 * implements it: the driver lock gates every effect, the journal is mirrored). The
 * engine depends on this interface only, never on the mode.
 */
import type {JournalWriter} from '../journal/file.js';
import type {Transport} from '../transport/types.js';
import type {ResolvedPlan} from './plan.js';
import type {Session} from './session.js';
import type {StepServices} from './steps.js';

export interface SessionTransports {
  transport: Transport;
  local: Transport;
}

export type ExtensibleServices = Partial<Pick<StepServices, 'sleep' | 'fetch'>>;

export interface SessionExtension {
  /** Said once the session has started, and on the driver's terminal. */
  readonly warnings: readonly string[];
  /** The session's transports, wrapped (e.g. behind the driver lock). */
  guard(transports: SessionTransports): SessionTransports;
  /** Step services, wrapped (e.g. webhook posts behind the driver lock). */
  services<S extends ExtensibleServices>(services?: S): S;
  /** Wires the extension to the session once it exists. */
  attach(parts: {journal: JournalWriter; session: Session; plan: ResolvedPlan}): void;
}
