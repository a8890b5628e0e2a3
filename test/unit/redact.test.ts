import {describe, expect, it} from 'vitest';
import {MASK, Redactor} from '../../source/journal/redact.js';

const secret = 'hunter2-Secret!';

describe('redaction', () => {
  it('removes a declared secret in every form it may take', () => {
    const r = new Redactor([secret]);
    const forms = [
      secret,
      encodeURIComponent(secret),
      Buffer.from(secret).toString('base64'),
      Buffer.from(secret).toString('hex'),
      JSON.stringify(secret).slice(1, -1),
    ];
    for (const form of forms) {
      const out = r.text(`before ${form} after`);
      expect(out).not.toContain(form);
      expect(out).toContain(MASK);
    }
  });

  it('finds a secret split across chunks of a stream', () => {
    const r = new Redactor([secret]);
    const stream = r.stream();
    const text = `line one\nthe password is ${secret} ok\nend\n`;
    const cut = text.indexOf(secret) + 5;
    const out = Buffer.concat([
      stream.push(Buffer.from(text.slice(0, cut))),
      stream.flush(),
      stream.push(Buffer.from(text.slice(cut))),
      stream.end(),
    ]).toString();
    expect(out).not.toContain(secret);
    expect(out).not.toContain(secret.slice(0, 5) + '\n');
    expect(out).toContain(`the password is ${MASK} ok`);
  });

  it('redacts undeclared secrets in SQL, URLs, key=value and headers', () => {
    const r = new Redactor([]);
    expect(r.text(`ALTER USER app PASSWORD 'p4ss''word';`)).toBe(
      `ALTER USER app PASSWORD ${MASK};`,
    );
    expect(r.text('postgres://app:s3cret@db.example.org/app')).toBe(
      `postgres://app:${MASK}@db.example.org/app`,
    );
    expect(r.text('export API_KEY=abc123 next')).toBe(`export API_KEY=${MASK} next`);
    expect(r.text('Authorization: Bearer eyJhbGci.x.y')).toBe(`Authorization: Bearer ${MASK}`);
  });

  it('keeps back only what could be the start of a secret when output goes quiet', () => {
    const r = new Redactor([secret]);
    const stream = r.stream();
    const first = stream.push(Buffer.from('Type go to continue: '));
    expect(first.length).toBe(0);
    expect(stream.flush().toString()).toBe('Type go to continue: ');
    expect(stream.push(Buffer.from(`xx ${secret.slice(0, 4)}`)).toString()).toBe('');
    expect(stream.flush().toString()).toBe('xx ');
    expect(
      Buffer.concat([stream.push(Buffer.from(`${secret.slice(4)}\n`)), stream.end()]).toString(),
    ).toBe(`${MASK}\n`);
  });

  it('works on bytes that are not UTF-8', () => {
    const r = new Redactor([secret]);
    const bytes = Buffer.concat([
      Buffer.from([0xff, 0xfe, 0x00]),
      Buffer.from(secret),
      Buffer.from([0x9f, 0x0a]),
    ]);
    const out = Buffer.concat([r.stream().push(bytes)]);
    expect(out.includes(Buffer.from(secret))).toBe(false);
    expect([...out.subarray(0, 3)]).toEqual([0xff, 0xfe, 0x00]);
  });
});
