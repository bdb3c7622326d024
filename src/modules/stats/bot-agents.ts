// Which requests bots made, by the maintained `isbot` list of user agents. The list is one large
// regular expression; agents repeat a lot, so answers are cached per agent (the cache is emptied
// when it fills, so a flood of made-up agents costs memory no more than MAX_AGENTS entries).
import { isbot } from 'isbot';

const MAX_AGENTS = 2_000;

export class BotAgents {
  private readonly known = new Map<string, boolean>();

  isBot(userAgent: string): boolean {
    let bot = this.known.get(userAgent);
    if (bot === undefined) {
      bot = isbot(userAgent);
      if (this.known.size >= MAX_AGENTS) this.known.clear();
      this.known.set(userAgent, bot);
    }
    return bot;
  }
}
