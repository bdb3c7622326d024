// Every route's request validators (Ajv) and response serializers (fast-json-stringify), compiled
// with their route's first request instead of all at start. Compiling them was the largest piece
// of start-up work (a CPU profile of `node dist/main.js start`: Ajv 243 ms and fast-json-stringify
// 161 ms of 2.2 s, before the collections their garbage caused), and their code stays in the heap
// for routes a process may never serve. The first request of a route pays its compile (about a
// millisecond a schema).
//
// A schema that cannot compile would now fail its route's first request rather than the start:
// compileAll() compiles every one left, and a test calls it on the whole app.
import { SerializerSelector } from '@fastify/fast-json-stringify-compiler';
import type { ValidateFunction } from 'ajv';
import type { FastifySchemaCompiler } from 'fastify';
import { validatorCompiler } from './validation.js';

type ValidatorRoute = Parameters<FastifySchemaCompiler<unknown>>[0];
type SerializerFactory = ReturnType<typeof SerializerSelector>;
type SerializerRoute = Parameters<ReturnType<SerializerFactory>>[0];
type Serialize = (doc: unknown) => string;

/** Ajv's second argument, which Fastify passes when the function has a schemaEnv (so that a root value can be coerced). */
type DataContext = Parameters<ValidateFunction>[1];

export class LazySchemaCompilers {
  /** compiles one not compiled yet; removed from the set once it has compiled */
  private readonly pending = new Set<() => void>();
  private readonly defaultSerializers = SerializerSelector();

  /** For app.setValidatorCompiler: a function that compiles its schema on its first call. */
  readonly validatorCompiler = (route: ValidatorRoute) => {
    let validate: ValidateFunction | undefined;
    const compile = () => {
      validate ??= this.compiled(route, () => validatorCompiler(route) as ValidateFunction, compile);
      return validate;
    };
    const check = Object.assign(
      (data: unknown, context?: DataContext) => {
        const ready = compile();
        const valid = ready(data, context);
        check.errors = ready.errors;
        return valid;
      },
      // Fastify reads errors off the function it called, and passes the parent (for coercion) to one with a schemaEnv.
      { errors: null as ValidateFunction['errors'], schemaEnv: true },
    );
    this.pending.add(compile);
    return check;
  };

  /** For Fastify's schemaController.compilersFactory.buildSerializer: Fastify's own, compiled on first use. */
  readonly buildSerializer = (externalSchemas?: unknown, options?: Parameters<SerializerFactory>[1]) => {
    const compileNow = this.defaultSerializers(externalSchemas, options);
    return (route: SerializerRoute): Serialize => {
      let serialize: Serialize | undefined;
      const compile = () => {
        serialize ??= this.compiled(route, () => compileNow(route), compile);
        return serialize;
      };
      this.pending.add(compile);
      return (doc) => compile()(doc);
    };
  };

  /** Compiles every validator and serializer not compiled yet; how many it compiled. Throws naming the route of one that cannot. */
  compileAll(): number {
    const left = [...this.pending];
    for (const compile of left) compile();
    return left.length;
  }

  private compiled<Compiled>(route: { method: string | string[]; url: string }, compileNow: () => Compiled, compile: () => void): Compiled {
    let compiled: Compiled;
    try {
      compiled = compileNow();
    } catch (error) {
      // left pending: every request of the route fails the same way, and compileAll() names it
      throw new Error(`the schema of ${String(route.method)} ${route.url} does not compile: ${(error as Error).message}`, { cause: error });
    }
    this.pending.delete(compile);
    return compiled;
  }
}
