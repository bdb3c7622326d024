// A panel's data, or why it has none. Every read has the dependency deadline, and every failure
// becomes a reason shown in place of the panel: the page itself must answer whatever is down.
import { withDeadline } from '../../../infra/deadline.js';
import { errorMessage } from '../../../infra/queue/contract.js';

export type Panel<T> = { available: true; data: T } | { available: false; reason: string };

export async function readPanel<T>(what: string, timeoutMs: number, read: () => Promise<T>): Promise<Panel<T>> {
  try {
    const data = await withDeadline(read, timeoutMs, () => {
      throw new Error(`${what} did not answer within ${timeoutMs} ms`);
    });
    return { available: true, data };
  } catch (error) {
    return { available: false, reason: errorMessage(error) };
  }
}
