/** The hand-over words (`hand over [to WHO][: note]`), read with the other answers. */
export {parseHandOver, type HandOverRequest} from '../engine/hand-over.js';
