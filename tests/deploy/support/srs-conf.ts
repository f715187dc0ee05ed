/** A directive of an SRS (nginx-style) config: `name args...;` or `name args... { children }`. */
export interface SrsDirective {
  name: string;
  args: string[];
  children: SrsDirective[];
}

/** Parses an SRS config file; `#` starts a comment that runs to the end of the line. */
export function parseSrsConfig(text: string): SrsDirective[] {
  const tokens = text
    .split('\n')
    .map((line) => line.replace(/#.*$/, ''))
    .join('\n')
    .match(/[{};]|[^\s{};]+/g) ?? [];
  let position = 0;

  function parseBlock(closed: boolean): SrsDirective[] {
    const directives: SrsDirective[] = [];
    let words: string[] = [];
    while (position < tokens.length) {
      const token = tokens[position++];
      if (token === ';') {
        if (words.length === 0) throw new Error('SRS config: empty directive');
        directives.push({ name: words[0], args: words.slice(1), children: [] });
        words = [];
      } else if (token === '{') {
        if (words.length === 0) throw new Error('SRS config: block without a name');
        directives.push({ name: words[0], args: words.slice(1), children: parseBlock(true) });
        words = [];
      } else if (token === '}') {
        if (!closed || words.length > 0) throw new Error('SRS config: unexpected "}"');
        return directives;
      } else {
        words.push(token);
      }
    }
    if (closed || words.length > 0) throw new Error('SRS config: unterminated block or directive');
    return directives;
  }

  return parseBlock(false);
}

/** Follows a path of directive names (for example `vhost`, `http_hooks`, `on_publish`). */
export function findDirective(directives: SrsDirective[], ...path: string[]): SrsDirective | undefined {
  let current: SrsDirective | undefined;
  let level = directives;
  for (const name of path) {
    current = level.find((directive) => directive.name === name);
    if (!current) return undefined;
    level = current.children;
  }
  return current;
}
