// Every `npm` script the README names works on a fresh clone: it sets up what it needs first (scripts/setup.mjs,
// which runs on Node built-ins before any dependency is installed), every file it names exists, and a missing
// prerequisite it cannot set up is one sentence, not a stack trace. Cheap: no bench runs, no build.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(".");
const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");
const packageJson = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")) as {
  scripts: Record<string, string>;
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
};
const setupSource = readFileSync(path.join(ROOT, "scripts/setup.mjs"), "utf8");
const SETUP_MODES = JSON.parse(/const MODES = (\[[^\]]*\]);/.exec(setupSource)![1]!) as string[];

/** `npm start`, `npm test`, `npm run x` and the row of `bench:...` names the README's scripts table lists. */
function readmeScriptNames(): string[] {
  const names = new Set<string>();
  for (const match of readme.matchAll(/`npm (start|test)\b/g)) names.add(match[1]!);
  for (const match of readme.matchAll(/npm run ([a-z][a-z0-9:-]*)/g)) names.add(match[1]!);
  for (const match of readme.matchAll(/`(bench:[a-z]+)`/g)) names.add(match[1]!);
  return [...names].sort();
}

/** Commands that come from node_modules/.bin, and the package that provides each. */
const PACKAGE_BINS: Record<string, string> = { tsx: "tsx", remix: "@remix-run/dev", tsc: "typescript", vitest: "vitest", prisma: "prisma" };

/** Does a Node script import only Node's built-ins and the repo's own files (so it runs before `npm ci`)? */
function runsWithoutDependencies(file: string, seen = new Set<string>()): boolean {
  if (seen.has(file)) return true;
  seen.add(file);
  const source = readFileSync(file, "utf8");
  for (const match of source.matchAll(/^\s*import\s[^'"]*?from\s+["']([^"']+)["']|^\s*import\s+["']([^"']+)["']/gm)) {
    const specifier = (match[1] ?? match[2])!;
    if (specifier.startsWith("node:")) continue;
    if (!specifier.startsWith(".")) return false;
    if (!runsWithoutDependencies(path.resolve(path.dirname(file), specifier), seen)) return false;
  }
  return true;
}

interface Step {
  command: string;
  args: string[];
}

function stepsOf(commandLine: string): Step[] {
  return commandLine.split("&&").map((part) => {
    const [command, ...args] = part.trim().split(/\s+/);
    return { command: command!, args };
  });
}

const isSetup = (step: Step) => step.command === "node" && step.args[0] === "scripts/setup.mjs";

describe("npm scripts the README names", () => {
  const names = readmeScriptNames();

  it("the README names the scripts it documents (the check below has something to check)", () => {
    for (const name of ["start", "test", "db:migrate", "operator", "bench:program", "bench:compile", "bench:ingest", "bench:settle", "bench:chain", "verify"]) {
      expect(names).toContain(name);
    }
  });

  for (const name of names) {
    it(`${name}: exists, sets up what it needs before using a dependency, and names only files that exist`, () => {
      const commandLine = packageJson.scripts[name];
      expect(commandLine, `package.json has no "${name}" script`).toBeDefined();
      // npm runs `pre<name>` first: its set-up counts as this script's.
      const pre = packageJson.scripts[`pre${name}`];
      const steps = [...(pre ? stepsOf(pre) : []), ...stepsOf(commandLine!)];
      let setUp = false;
      for (const step of steps) {
        if (isSetup(step)) {
          expect(SETUP_MODES, `${name}: setup mode ${step.args[1]}`).toContain(step.args[1] ?? "start");
          setUp = true;
          continue;
        }
        if (step.command === "node") {
          const file = path.join(ROOT, step.args[0]!);
          expect(existsSync(file), `${name}: ${step.args[0]} exists`).toBe(true);
          if (!setUp) expect(runsWithoutDependencies(file), `${name}: ${step.args[0]} runs before npm ci, or after scripts/setup.mjs`).toBe(true);
          continue;
        }
        const provider = PACKAGE_BINS[step.command];
        expect(provider, `${name}: "${step.command}" is a known command`).toBeDefined();
        expect({ ...packageJson.dependencies, ...packageJson.devDependencies }[provider!], `${name}: ${provider} is a dependency`).toBeDefined();
        // On a fresh clone node_modules/.bin does not exist yet ("tsx: not found"): set-up must come first.
        expect(setUp, `${name}: "${step.command}" runs only after scripts/setup.mjs`).toBe(true);
        for (const arg of step.args) if (/\.(ts|mjs|js)$/.test(arg)) expect(existsSync(path.join(ROOT, arg)), `${name}: ${arg} exists`).toBe(true);
      }
    });
  }

  it("error: an unknown set-up mode is refused with one sentence naming the modes", () => {
    const result = spawnSync(process.execPath, ["scripts/setup.mjs", "nonsense"], { cwd: ROOT, encoding: "utf8" });
    expect(result.status).toBe(2);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('unknown mode "nonsense"');
    for (const mode of SETUP_MODES) expect(lines[0]).toContain(mode);
  });

  it("error: bench:ingest without a PostgreSQL server says so in one sentence, no stack trace", () => {
    const env = { ...process.env };
    delete env.DATABASE_URL;
    delete env.DATABASE_MIGRATION_URL;
    const tsx = path.join(ROOT, "node_modules/.bin/tsx");
    const result = spawnSync(tsx, ["bench/ingest.bench.ts"], { cwd: ROOT, encoding: "utf8", env, timeout: 120_000 });
    expect(result.status).toBe(2);
    const lines = result.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("needs DATABASE_URL");
    expect(result.stderr).not.toMatch(/^\s+at /m);
  }, 150_000);
});
