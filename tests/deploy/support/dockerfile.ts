/** One Dockerfile instruction, with continuation lines joined and comments removed. */
export interface Instruction {
  keyword: string;
  args: string;
  stage: string;
}

export interface Stage {
  name: string;
  from: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  globalArgs: Map<string, string>;
  stages: Stage[];
}

/** Parses the instructions of a Dockerfile into its global ARGs and its build stages. */
export function parseDockerfile(text: string): Dockerfile {
  const lines: string[] = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1).trim()} `;
      continue;
    }
    lines.push(`${pending}${line}`.trim());
    pending = '';
  }

  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const line of lines.filter(Boolean)) {
    const [keyword, ...rest] = line.split(/\s+/);
    const args = rest.join(' ');
    const upper = keyword.toUpperCase();
    if (upper === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args);
      if (!match) throw new Error(`Dockerfile: cannot parse FROM ${args}`);
      stages.push({ name: match[2] ?? `stage-${stages.length}`, from: match[1], instructions: [] });
    } else if (stages.length === 0) {
      if (upper !== 'ARG') throw new Error(`Dockerfile: ${upper} before the first FROM`);
      const [name, value = ''] = args.split('=');
      globalArgs.set(name, value);
    } else {
      const stage = stages[stages.length - 1];
      stage.instructions.push({ keyword: upper, args, stage: stage.name });
    }
  }
  return { globalArgs, stages };
}

/** Resolves `${NAME}` from the global ARG defaults. */
export function expandArgs(value: string, args: Map<string, string>): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_match, name: string) => args.get(name) ?? '');
}

/** Returns the stage and the stages it is built from, the target first. */
export function stageChain(dockerfile: Dockerfile, name: string): Stage[] {
  const chain: Stage[] = [];
  let current = dockerfile.stages.find((stage) => stage.name === name);
  while (current) {
    chain.push(current);
    const parent = current.from;
    current = dockerfile.stages.find((stage) => stage.name === parent);
  }
  return chain;
}

/** Splits `--flag=value` options from the rest of a COPY instruction's arguments. */
export function parseCopy(args: string): { flags: Record<string, string>; sources: string[]; destination: string } {
  const words = args.split(/\s+/);
  const flags: Record<string, string> = {};
  while (words[0]?.startsWith('--')) {
    const [flag, value = ''] = (words.shift() as string).slice(2).split('=');
    flags[flag] = value;
  }
  const destination = words.pop() as string;
  return { flags, sources: words, destination };
}

/** Converts a .dockerignore pattern to a regular expression over paths relative to the context. */
export function dockerignorePattern(pattern: string): RegExp {
  const cleaned = pattern.replace(/^\//, '').replace(/\/$/, '');
  let source = '';
  for (let index = 0; index < cleaned.length; index++) {
    const char = cleaned[index];
    if (char === '*' && cleaned[index + 1] === '*') {
      source += '.*';
      index += cleaned[index + 2] === '/' ? 2 : 1;
    } else if (char === '*') {
      source += '[^/]*';
    } else if (char === '?') {
      source += '[^/]';
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  // A pattern that names a folder excludes everything below it.
  return new RegExp(`^${source}(/.*)?$`);
}

/** True when .dockerignore (without `!` exceptions, which it does not use) excludes `path`. */
export function isDockerignored(dockerignore: string, path: string): boolean {
  return dockerignore
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .some((pattern) => {
      if (pattern.startsWith('!')) throw new Error('.dockerignore exceptions are not supported by this check');
      return dockerignorePattern(pattern).test(path);
    });
}
