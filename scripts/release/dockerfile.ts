// The Dockerfile as the release checks read it: its stages and, in order, the instructions a
// build carries out. Parsing is dockerfile-ast's (the parser behind VS Code's Dockerfile support);
// this file only turns its syntax tree into the few shapes the image check acts on, and refuses
// what the check cannot reproduce faithfully (ADD, heredocs, ARG expansion, COPY --chown...).
import { Copy, DockerfileParser, Env, From, Healthcheck, Run, type Instruction } from 'dockerfile-ast';

export type Step =
  | { kind: 'COPY'; line: number; fromStage?: string; sources: string[]; destination: string }
  | { kind: 'RUN'; line: number; command: string }
  | { kind: 'ENV'; line: number; values: Record<string, string> }
  | { kind: 'WORKDIR'; line: number; path: string }
  | { kind: 'USER'; line: number; user: string };

export interface Stage {
  /** the AS name, or the stage's index as Docker names unnamed stages */
  name: string;
  baseImage: string;
  steps: Step[];
  /** the exec-form ENTRYPOINT and CMD (a shell form is refused: the signal would go to sh) */
  entrypoint: string[];
  cmd: string[];
  /** the HEALTHCHECK command as argv (a shell form becomes [/bin/sh, -c, text]) */
  healthcheck?: string[];
  volumes: string[];
  exposed: string[];
}

export class DockerfileError extends Error {
  constructor(line: number, message: string) {
    super(`Dockerfile line ${line + 1}: ${message}`);
    this.name = 'DockerfileError';
  }
}

/**
 * An exec form ["...", ...] as argv. Docker reads it as JSON, and so does this (dockerfile-ast's
 * getJSONStrings() drops the spaces inside a string: ["echo", "a b"] would run `echo ab`).
 */
function jsonArray(text: string | null): string[] | undefined {
  if (!text?.trim().startsWith('[')) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) && value.every((item) => typeof item === 'string') ? value : undefined;
  } catch {
    return undefined;
  }
}

function execForm(instruction: Instruction): string[] {
  const argv = jsonArray(instruction.getArgumentsContent());
  if (!argv) throw new DockerfileError(instruction.getRange().start.line, `${instruction.getKeyword()} must use the exec form ["..."]`);
  return argv;
}

function healthcheckCommand(instruction: Healthcheck): string[] | undefined {
  const subcommand = instruction.getSubcommand()?.getValue().toUpperCase();
  if (subcommand === 'NONE') return undefined;
  if (subcommand !== 'CMD') throw new DockerfileError(instruction.getRange().start.line, 'HEALTHCHECK needs CMD or NONE');
  // What follows CMD: a JSON array (exec form) or a shell command.
  const text = (instruction.getArgumentsContent() ?? '').replace(/^(\s*--\S+)*\s*CMD\s+/i, '').trim();
  return jsonArray(text) ?? ['/bin/sh', '-c', text];
}

export function parseDockerfile(content: string): Stage[] {
  const stages: Stage[] = [];
  for (const instruction of DockerfileParser.parse(content).getInstructions()) {
    const keyword = instruction.getKeyword().toUpperCase();
    const line = instruction.getRange().start.line;
    if (instruction instanceof From) {
      const baseImage = instruction.getImage();
      if (!baseImage) throw new DockerfileError(line, 'FROM without an image');
      stages.push({ name: instruction.getBuildStage() ?? String(stages.length), baseImage, steps: [], entrypoint: [], cmd: [], volumes: [], exposed: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new DockerfileError(line, `${keyword} before the first FROM`);
    if (instruction.getVariables().length > 0) throw new DockerfileError(line, `${keyword}: variable expansion ($VAR) is not reproduced by the image check`);
    if (instruction instanceof Copy) {
      if (instruction.getHeredocs().length > 0) throw new DockerfileError(line, 'COPY with a heredoc is not reproduced by the image check');
      const flags = instruction.getFlags();
      const unknown = flags.filter((flag) => flag.getName() !== 'from');
      if (unknown.length > 0) throw new DockerfileError(line, `COPY --${unknown[0].getName()} is not reproduced by the image check`);
      const paths = instruction.getArguments().map((argument) => argument.getValue());
      if (paths.length < 2) throw new DockerfileError(line, 'COPY needs a source and a destination');
      stage.steps.push({ kind: 'COPY', line, fromStage: instruction.getFromFlag()?.getValue() ?? undefined, sources: paths.slice(0, -1), destination: paths.at(-1)! });
    } else if (instruction instanceof Env) {
      stage.steps.push({ kind: 'ENV', line, values: Object.fromEntries(instruction.getProperties().map((property) => [property.getName(), property.getValue() ?? ''])) });
    } else if (instruction instanceof Healthcheck) {
      stage.healthcheck = healthcheckCommand(instruction);
    } else if (instruction instanceof Run) {
      if (instruction.getFlags().length > 0) throw new DockerfileError(line, 'RUN flags (--mount...) are not reproduced by the image check');
      const argv = jsonArray(instruction.getArgumentsContent());
      stage.steps.push({ kind: 'RUN', line, command: argv ? argv.map(shellQuote).join(' ') : (instruction.getArgumentsContent() ?? '') });
    } else if (keyword === 'WORKDIR') {
      stage.steps.push({ kind: 'WORKDIR', line, path: instruction.getArgumentsContent() ?? '' });
    } else if (keyword === 'USER') {
      stage.steps.push({ kind: 'USER', line, user: instruction.getArgumentsContent() ?? '' });
    } else if (keyword === 'ENTRYPOINT') {
      stage.entrypoint = execForm(instruction);
    } else if (keyword === 'CMD') {
      stage.cmd = execForm(instruction);
    } else if (keyword === 'VOLUME') {
      stage.volumes = jsonArray(instruction.getArgumentsContent()) ?? instruction.getArguments().map((argument) => argument.getValue());
    } else if (keyword === 'EXPOSE') {
      stage.exposed = instruction.getArguments().map((argument) => argument.getValue());
    } else if (keyword !== 'LABEL') {
      throw new DockerfileError(line, `${keyword} is not reproduced by the image check`);
    }
  }
  if (stages.length === 0) throw new DockerfileError(0, 'no FROM');
  return stages;
}

export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
