import stringWidth from 'string-width';
import {describe, expect, it} from 'vitest';
import {fit} from '../../source/ui/components/checklist.js';
import {wrapLine, wrapWords} from '../../source/ui/derive.js';
import {textWidth} from '../../source/ui/text-width.js';

describe('text the console fits, measured in terminal columns', () => {
  it('a checklist row with CJK or emoji in its title takes exactly the width', () => {
    for (const title of [
      '  ✓ 部署新版本到所有主机并检查健康状态',
      '  ▶ Restart 🚀 the services 🚀🚀🚀 now',
    ]) {
      for (const width of [30, 41, 80]) {
        const row = fit(title, '12s', width);
        expect(textWidth(row), row).toBe(width);
        expect(row.endsWith(' 12s')).toBe(true);
      }
    }
  });

  it('wrapped lines never run past the width when words are wide', () => {
    const lines = wrapLine('检查 数据库 复制 延迟 低于 一兆字节 然后 继续 下一步 操作', 12);
    for (const line of lines) expect(textWidth(line), line).toBeLessThanOrEqual(12);
    const hosts = wrapWords(['东京-1', '大阪-2', '名古屋-3', '札幌-4'], 14);
    for (const line of hosts) expect(textWidth(line), line).toBeLessThanOrEqual(14);
  });

  it('measures every character as string-width does, alone and between others', () => {
    const wrong: string[] = [];
    for (let c = 0; c < 0x10000; c++) {
      if (c >= 0xd800 && c < 0xe000) continue;
      const ch = String.fromCharCode(c);
      for (const text of [`a${ch}b`, `✓ ${ch}${ch}`])
        if (textWidth(text) !== stringWidth(text)) wrong.push(c.toString(16));
    }
    for (const text of ['  ▶ Restart 🚀 the services', '한국어', 'e\u0301', 'x\u200dy', '👍🏽 ok'])
      if (textWidth(text) !== stringWidth(text)) wrong.push(text);
    expect(wrong).toEqual([]);
  });
});
