import Database from 'better-sqlite3';
const proto = (Database as any).prototype;
const times = new Map<string, { n: number; ms: number }>();
const origPrepare = proto.prepare;
proto.prepare = function (sql: string, ...rest: unknown[]) {
  const st = origPrepare.call(this, sql, ...rest);
  for (const m of ['run', 'all', 'get', 'iterate']) {
    const f = st[m];
    if (typeof f !== 'function') continue;
    st[m] = function (...args: unknown[]) { const t = performance.now(); try { return f.apply(this, args); } finally { const k = sql.replace(/\s+/g, ' ').slice(0, 110); const e = times.get(k) ?? { n: 0, ms: 0 }; e.n++; e.ms += performance.now() - t; times.set(k, e); } };
  }
  return st;
};
(globalThis as any).__sqlReset = () => times.clear();
process.on('exit', () => { for (const [k, v] of [...times].sort((a, b) => b[1].ms - a[1].ms).slice(0, 25)) console.log(v.ms.toFixed(1).padStart(8), String(v.n).padStart(6), k); });
