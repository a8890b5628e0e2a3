/**
 * What a single-file build carries inside: the shipped machines as modules and the
 * shipped profiles as text. In the package this is empty (machines/ and profiles/ are
 * found on disk); `npm run bundle` replaces this module with a generated registry.
 */
export interface Shipped {
  /** Changes whenever a carried file does (names the directory profiles are unpacked to). */
  id: string;
  /** `machines/NAME.ts` → its module. */
  machines: Readonly<Record<string, () => Promise<unknown>>>;
  /** Lets a user machine's `import … from 'crewchief'` reach the single file. */
  beforeUserMachine(): void;
  /** `profiles/…` → the file's text. */
  files: Readonly<Record<string, string>>;
}

export const shipped: Shipped | undefined = undefined;
