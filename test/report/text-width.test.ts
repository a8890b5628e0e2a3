/** Text fitted by columns, not code units: CJK and emoji take two, colour codes none. */
import {describe, expect, it} from 'vitest';
import {padToWidth, textWidth, truncateToWidth, wrapToWidth} from '../../source/ui/text-width.js';

describe('text width', () => {
  it('measures CJK, emoji and coloured text as the terminal draws them', () => {
    expect(textWidth('デプロイ')).toBe(8);
    expect(textWidth('ok ✅')).toBe(5);
    expect(textWidth('\u001b[32mok\u001b[39m')).toBe(2);
  });

  it('pads and cuts by columns without splitting a wide character', () => {
    expect(textWidth(padToWidth('東京', 10))).toBe(10);
    const cut = truncateToWidth('本番環境へのデプロイ', 7);
    expect(cut).toBe('本番環…');
    expect(textWidth(cut)).toBeLessThanOrEqual(7);
    expect(truncateToWidth('👩‍🚀 crew', 3)).toBe('👩‍🚀…');
  });

  it('wraps to lines no wider than asked', () => {
    for (const line of wrapToWidth('停止 してから 再起動 します 🚀 rollout restart', 10))
      expect(textWidth(line)).toBeLessThanOrEqual(10);
  });
});
