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
      `ALTER USER app PASSWORD '${MASK}';`,
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

  it('finds base64 of a secret at every byte alignment inside a longer base64 text', () => {
    const r = new Redactor([secret]);
    for (const before of ['', 'x', 'xy', 'xyz', 'user=admin\npass=']) {
      for (const after of ['', '\n', '!!', 'and more text']) {
        const blob = Buffer.from(`${before}${secret}${after}`);
        for (const encoded of [blob.toString('base64'), blob.toString('base64url')]) {
          const out = r.text(`data: ${encoded} end`);
          // Decoding what is left never gives the secret back.
          const left = out.split(MASK);
          expect(left.length, `${before.length} bytes before: ${encoded}`).toBeGreaterThan(1);
          for (const piece of left)
            expect(Buffer.from(piece.replace(/^data: /, ''), 'base64').toString()).not.toContain(
              secret.slice(2, -2),
            );
        }
      }
    }
  });

  it('finds URL-encoded (either case, + for space) and hex (either case) forms', () => {
    const spaced = 'correct horse/battery=staple';
    const r = new Redactor([spaced]);
    const forms = [
      encodeURIComponent(spaced),
      encodeURIComponent(spaced).replace(/%20/g, '+'),
      encodeURIComponent(spaced).replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()),
      Buffer.from(spaced).toString('hex'),
      Buffer.from(spaced).toString('hex').toUpperCase(),
    ];
    for (const form of forms) expect(r.text(`?k=${form}&x=1`)).toBe(`?k=${MASK}&x=1`);
  });

  it('hides only the secret part of common credential shapes, so the command stays what ran', () => {
    const r = new Redactor([]);
    const cases: [string, string][] = [
      ['PGPASSWORD=hunter2x psql -h db', `PGPASSWORD=${MASK} psql -h db`],
      ['export DB_PASSWORD="two words" && go', `export DB_PASSWORD="${MASK}" && go`],
      ["MYSQL_ROOT_PASSWORD='abc;def' mysqld", `MYSQL_ROOT_PASSWORD='${MASK}' mysqld`],
      ['mysql --password hunter2x -h db', `mysql --password ${MASK} -h db`],
      ['mysql --password=hunter2x -h db', `mysql --password=${MASK} -h db`],
      ["mysql --password 'a b' -h db", `mysql --password '${MASK}' -h db`],
      [
        'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY aws s3 ls',
        `AWS_SECRET_ACCESS_KEY=${MASK} aws s3 ls`,
      ],
      [
        'curl -H "Authorization: Bearer eyJhbGciOi.abc.def" https://x.example.org/a',
        `curl -H "Authorization: Bearer ${MASK}" https://x.example.org/a`,
      ],
      [
        "curl -H 'Authorization: Basic dXNlcjpwYXNz' https://x.example.org",
        `curl -H 'Authorization: Basic ${MASK}' https://x.example.org`,
      ],
      [
        'psql postgres://app:s3cret@db.example.org/app -c "select 1"',
        `psql postgres://app:${MASK}@db.example.org/app -c "select 1"`,
      ],
      [
        'git clone https://bot:ghp_x1y2z3@git.example.org/r.git',
        `git clone https://bot:${MASK}@git.example.org/r.git`,
      ],
      [`ALTER USER app PASSWORD 'p4ss';`, `ALTER USER app PASSWORD '${MASK}';`],
      ['token: abc123', `token: ${MASK}`],
    ];
    for (const [input, expected] of cases) expect(r.text(input), input).toBe(expected);
    // Nothing that is not a credential is touched.
    for (const plain of [
      'echo password reset done',
      'kubectl get secret -n prod',
      'curl https://example.org/path?a=1',
      'grep -c "federations" durability.log',
    ])
      expect(r.text(plain)).toBe(plain);
  });
});
