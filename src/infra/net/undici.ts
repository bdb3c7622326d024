// undici, loaded with the first outgoing request (a harvest fetch, a webhook, test traffic) rather
// than at start: a process that sends none never pays for it (about 3 MiB of heap, and 70–100 ms
// to import on our 2-core machine). Every later call gets the module already loaded.
type Undici = typeof import('undici');

let loading: Promise<Undici> | undefined;

export function loadUndici(): Promise<Undici> {
  loading ??= import('undici');
  return loading;
}
