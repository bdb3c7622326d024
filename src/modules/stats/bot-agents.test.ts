import { describe, expect, it } from 'vitest';
import { BotAgents } from './bot-agents.js';

describe('bot agents', () => {
  it('tells crawlers and tools from browsers, the same answer from the cache', () => {
    const bots = new BotAgents();
    const googlebot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0';
    for (let round = 0; round < 2; round++) {
      expect(bots.isBot(googlebot)).toBe(true);
      expect(bots.isBot('curl/8.5.0')).toBe(true);
      expect(bots.isBot(firefox)).toBe(false);
    }
  });

  it('stays bounded under a flood of distinct agents', () => {
    const bots = new BotAgents();
    for (let i = 0; i < 10_000; i++) bots.isBot(`agent ${i}`);
    expect((bots as unknown as { known: Map<string, boolean> }).known.size).toBeLessThanOrEqual(2_000);
  });
});
