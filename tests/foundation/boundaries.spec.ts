import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(__dirname, '..', '..');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return entry === 'node_modules' ? [] : sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

function imports(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(|require\()\s*['"]([^'"]+)['"]/g)].map((match) => match[1]);
}

const projects = ['apps', 'libs'].flatMap((kind) =>
  readdirSync(join(root, kind)).map((name) => ({ kind, name, dir: join(root, kind, name, 'src') })),
);

describe('module boundaries', () => {
  it.each(projects.map((project) => [`${project.kind}/${project.name}`, project] as const))(
    '%s imports other projects only through @castplane libs',
    (_label, project) => {
      const violations: string[] = [];
      for (const file of sourceFiles(project.dir)) {
        for (const target of imports(file)) {
          const where = relative(root, file);
          if (target.startsWith('.') && relative(project.dir, join(file, '..', target)).startsWith('..')) {
            violations.push(`${where}: relative import leaves the project: ${target}`);
          }
          const name = /^@castplane\/([^/]+)(\/.*)?$/.exec(target);
          if (!name) continue;
          if (name[2]) violations.push(`${where}: deep import ${target} (use the lib's index)`);
          if (!readdirSync(join(root, 'libs')).includes(name[1])) violations.push(`${where}: imports app ${target}`);
          if (project.name === 'contracts' || (project.kind === 'libs' && name[1] === 'testing' && project.name !== 'testing')) {
            violations.push(`${where}: ${project.name} must not import ${target}`);
          }
        }
      }
      expect(violations).toEqual([]);
    },
  );
});
