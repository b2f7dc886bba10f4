// node npm-retarget.mjs NODE_MODULES OS CPU
//
// Host-side builds install the host's native npm packages (sharp's @img/sharp-linux-x64, …).
// For an image of another platform this swaps every platform-specific package in NODE_MODULES
// (one whose package.json "os"/"cpu" excludes the target) for the same package built for the
// target, named by npm's convention (the platform in the name: sharp-linux-x64 → sharp-linux-arm64)
// and fetched with `npm install --os=OS --cpu=CPU --force` (--force: npm checks a package named on
// the command line against this host, not --cpu). Fails, naming the package, when there is none.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const [root, targetOs, targetCpu] = process.argv.slice(2);
if (!root || !targetOs || !targetCpu) {
  console.error("usage: node npm-retarget.mjs NODE_MODULES OS CPU");
  process.exit(2);
}

// Package directories under a node_modules directory, scoped ones included, nested ones too.
function packages(dir) {
  const found = [];
  for (const entry of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    const full = path.join(dir, entry);
    if (entry.startsWith("@")) {
      for (const scoped of fs.readdirSync(full)) found.push(...withNested(path.join(full, scoped)));
    } else if (!entry.startsWith(".")) {
      found.push(...withNested(full));
    }
  }
  return found;
}
function withNested(dir) {
  if (!fs.existsSync(path.join(dir, "package.json"))) return [];
  return [dir, ...packages(path.join(dir, "node_modules"))];
}

const fits = (list, value) => !Array.isArray(list) || list.includes(value) ||
  (list.every((v) => v.startsWith("!")) && !list.includes(`!${value}`));

const swaps = [];
for (const dir of packages(root)) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, "package.json"), "utf8"));
  if (fits(pkg.os, targetOs) && fits(pkg.cpu, targetCpu)) continue;
  const replacement = pkg.name
    .replace(new RegExp(`\\b(${(pkg.cpu || []).join("|") || "$^"})\\b`), targetCpu)
    .replace(new RegExp(`\\b(${(pkg.os || []).join("|") || "$^"})\\b`), targetOs);
  if (replacement === pkg.name) {
    console.error(`npm-retarget: ${pkg.name}@${pkg.version} is built for ${pkg.os}/${pkg.cpu} and has no ${targetOs}/${targetCpu} counterpart by name`);
    process.exit(1);
  }
  swaps.push({ dir, from: pkg.name, to: replacement, version: pkg.version });
}
if (swaps.length === 0) process.exit(0);

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "npm-retarget-"));
try {
  execFileSync("npm", ["install", "--no-save", "--no-package-lock", "--ignore-scripts", "--no-audit",
    "--no-fund", "--loglevel=error", `--os=${targetOs}`, `--cpu=${targetCpu}`, "--force", "--prefix", tmp,
    ...swaps.map((s) => `${s.to}@${s.version}`)], { stdio: ["ignore", "ignore", "inherit"] });
  for (const s of swaps) {
    const target = path.join(path.dirname(s.dir), ...(s.to.startsWith("@") ? [s.to.split("/")[1]] : [s.to]));
    fs.rmSync(s.dir, { recursive: true, force: true });
    fs.cpSync(path.join(tmp, "node_modules", s.to), target, { recursive: true });
    console.error(`npm-retarget: ${s.from} → ${s.to}@${s.version}`);
  }
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
