/**
 * The split build (dist/cli/, what bin/ runs) reaches ssh2's native crypto binding. ssh2
 * requires it by a path relative to its own file, and falls back to Node's ciphers without
 * a word when that fails: from dist/cli/ it did, and a 200 MB flood's decryption took
 * ~200 ms of the main thread instead of ~45 (source/bundle/build.js rewrites the require).
 */
import fs from 'node:fs';
import {createRequire} from 'node:module';
import path from 'node:path';
import {describe, expect, it} from 'vitest';
import {ensureBuilt, repoRoot} from '../helpers/tmux.js';

describe("the split build and ssh2's native crypto", () => {
  it('loads the binding from where the chunk requires it', () => {
    ensureBuilt();
    const dir = path.join(repoRoot, 'dist', 'cli');
    const requires = fs
      .readdirSync(dir)
      .filter((f) => f.endsWith('.js'))
      .flatMap((f) => {
        const text = fs.readFileSync(path.join(dir, f), 'utf8');
        return [...text.matchAll(/require\("([^"]*sshcrypto\.node)"\)/g)].map((m) => ({
          file: path.join(dir, f),
          specifier: m[1]!,
        }));
      });
    expect(requires.length).toBeGreaterThan(0);
    for (const {file, specifier} of requires) {
      const binding = createRequire(file)(specifier) as Record<string, unknown>;
      expect(typeof binding['AESGCMDecipher']).toBe('function');
    }
  });
});
