// A module is made once per app: two apps in one process (as tests and the exactly-once child
// run them) keep their own instances, and closing one app closes only its own, in reverse order.
import { describe, expect, it } from 'vitest';
import { type TestWorkyard, startTestWorkyard } from '../test/support/workyard.js';
import type { ModuleInstance, WorkyardModule } from './app-context.js';

interface RecordingInstance extends ModuleInstance {
  id: number;
  closed: boolean;
}

function recordingModule(name: string, events: string[], options: { failRoutes?: boolean } = {}): WorkyardModule<RecordingInstance> {
  let made = 0;
  return {
    name,
    create() {
      const instance: RecordingInstance = {
        id: ++made,
        closed: false,
        routes: (app) => {
          if (options.failRoutes) throw new Error(`${name} refuses to start`);
          app.get(`/${name}`, { schema: { tags: [name] } }, async () => ({ instance: instance.id }));
        },
        close: async () => {
          instance.closed = true;
          events.push(`close ${name}#${instance.id}`);
        },
      };
      events.push(`create ${name}#${instance.id}`);
      return instance;
    },
  };
}

describe('module instances', () => {
  it('are made once per app, and closing one app closes only its instances, last made first', async () => {
    const events: string[] = [];
    const first = recordingModule('first', events);
    const second = recordingModule('second', events);
    const apps: TestWorkyard[] = [];
    try {
      apps.push(await startTestWorkyard({}, { modules: [first, second] }));
      apps.push(await startTestWorkyard({}, { modules: [first, second] }));
      const [one, two] = apps;
      expect(events).toEqual(['create first#1', 'create second#1', 'create first#2', 'create second#2']);
      expect(one.workyard.instanceOf(first)).not.toBe(two.workyard.instanceOf(first));
      expect(await (await fetch(`${two.baseUrl}/first`)).json()).toEqual({ instance: 2 });

      await one.close();
      expect(events.slice(4)).toEqual(['close second#1', 'close first#1']);
      expect(two.workyard.instanceOf(first).closed).toBe(false);
      expect(await (await fetch(`${two.baseUrl}/second`)).json()).toEqual({ instance: 2 });
    } finally {
      for (const app of apps) await app.close();
    }
  });

  it('made before a module refuses to start are all closed, and the app does not start', async () => {
    const events: string[] = [];
    const start = startTestWorkyard({}, { modules: [recordingModule('fine', events), recordingModule('refusing', events, { failRoutes: true })] });
    await expect(start).rejects.toThrow('refusing refuses to start');
    expect(events).toEqual(['create fine#1', 'create refusing#1', 'close refusing#1', 'close fine#1']);
  });

  it('are reached only through the app that runs them', async () => {
    const wy = await startTestWorkyard({}, { modules: [] });
    try {
      expect(() => wy.workyard.instanceOf(recordingModule('absent', []))).toThrow('module absent does not run in this app');
    } finally {
      await wy.close();
    }
  });
});
