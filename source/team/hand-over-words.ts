/** The hand-over words live in the engine (engine/hand-over.ts), where the views read them too. */
export {parseHandOver, type HandOverRequest} from '../engine/hand-over.js';
