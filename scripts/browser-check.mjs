#!/usr/bin/env node
// The browser check (ORIGINS.md "Browser check"): headless Debian chromium through playwright-core
// opens an origin, waits for the network to go idle and reports every request the page made that
// failed -- a network error, a CORS refusal, an HTTP 4xx/5xx (a 401 only counts after the scenario
// signed in) -- and every console error and uncaught page error, as JSON. Exit 0 when there is
// none, 1 when there is any (or a scenario step failed), 2 on bad usage.
//
//   node scripts/browser-check.mjs URL [--scenario todo] [--json FILE] [--screenshot FILE]
//                                      [--timeout SECONDS] [--allow-offline-external]
//
// --scenario todo drives the UI contract of our browser fixtures (ORIGINS.md): sign up when the
//   page shows input[name=email] + input[name=password] (and input[name=name] when present), add a
//   task through input[name=title] + its form's submit button, wait for a [data-task] element
//   holding the title, reload, see it again.
// --allow-offline-external: requests to public hosts (a dotted name that is not the origin's host,
//   an IP literal, *.local, *.internal or a cluster name) that fail with a DNS or connection error
//   are listed under "offline" and not counted: this machine has no internet, a user's browser
//   would reach them (web fonts, CDNs, analytics). Everything else still counts.
// The report goes to stdout (and to --json FILE); one summary line per problem to stderr.
// playwright-core comes from scripts/browser-tools.sh (run here when BERTH_PLAYWRIGHT_DIR is unset).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function usage(message) {
  console.error(`browser-check: error: ${message}`);
  console.error(
    "usage: browser-check.mjs URL [--scenario todo] [--json FILE] [--screenshot FILE] [--timeout SECONDS] [--allow-offline-external]",
  );
  process.exit(2);
}

const opts = { scenario: null, json: null, screenshot: null, timeout: 30, offlineExternal: false };
let url = null;
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const arg = argv[i];
  const value = () => {
    if (i + 1 >= argv.length) usage(`${arg} needs a value`);
    return argv[++i];
  };
  if (arg === "--scenario") opts.scenario = value();
  else if (arg === "--json") opts.json = value();
  else if (arg === "--screenshot") opts.screenshot = value();
  else if (arg === "--timeout") opts.timeout = Number(value());
  else if (arg === "--allow-offline-external") opts.offlineExternal = true;
  else if (arg.startsWith("-")) usage(`unknown option ${arg}`);
  else if (url === null) url = arg;
  else usage(`unexpected argument ${arg}`);
}
if (!url) usage("the URL to check is missing");
let origin;
try {
  origin = new URL(url);
  if (!["http:", "https:"].includes(origin.protocol)) throw new Error("not http(s)");
} catch {
  usage(`URL: ${url} is not an http:// or https:// URL`);
}
if (opts.scenario !== null && opts.scenario !== "todo") usage(`--scenario: ${opts.scenario} is unknown (allowed: todo)`);
if (!(opts.timeout > 0)) usage(`--timeout: ${opts.timeout} is not a positive number of seconds`);

function playwrightDir() {
  if (process.env.BERTH_PLAYWRIGHT_DIR) return process.env.BERTH_PLAYWRIGHT_DIR;
  const tools = join(dirname(fileURLToPath(import.meta.url)), "browser-tools.sh");
  const out = execFileSync(tools, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return out.trim().split("\n").pop();
}
const { chromium } = createRequire(join(playwrightDir(), "package.json"))("playwright-core");

const TIMEOUT = opts.timeout * 1000;
const started = Date.now();
const report = {
  url,
  scenario: opts.scenario,
  ok: false,
  requests: 0,
  failedRequests: [],
  consoleErrors: [],
  pageErrors: [],
  offline: [],
  notes: [],
  steps: [],
  durationMs: 0,
};
let signedIn = false;

// A public host: what a user's browser would reach over the internet and this machine cannot.
function isExternal(requestUrl) {
  let host;
  try {
    host = new URL(requestUrl).hostname;
  } catch {
    return false;
  }
  if (host === origin.hostname || !host.includes(".")) return false;
  if (/^[\d.]+$/.test(host) || host.startsWith("[")) return false;
  return !/\.(local|internal|localhost|svc|cluster\.local)$/.test(host);
}
const OFFLINE_ERRORS = /ERR_NAME_NOT_RESOLVED|ERR_INTERNET_DISCONNECTED|ERR_NAME_RESOLUTION_FAILED|ERR_CONNECTION_(REFUSED|RESET|TIMED_OUT|CLOSED)|ERR_ADDRESS_UNREACHABLE|ERR_NETWORK_CHANGED|ERR_TIMED_OUT|ERR_PROXY/;

const corsRefused = new Set(); // request URLs a console message says CORS blocked
const userDataDir = mkdtempSync(join(tmpdir(), "berth-browser-check-"));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
  viewport: { width: 1280, height: 800 },
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(TIMEOUT);

page.on("request", () => report.requests++);
page.on("pageerror", (err) => report.pageErrors.push(err.stack ?? err.message));
page.on("console", (msg) => {
  if (msg.type() !== "error") return;
  const text = msg.text();
  const cors = text.match(/Access to (?:fetch|XMLHttpRequest|script|font|image)[^']*at '([^']+)' from origin .* blocked by CORS policy/);
  if (cors) {
    corsRefused.add(cors[1]);
    return; // reported with its request
  }
  // Chromium's own line for a failed resource: the request is reported (or allowed) by itself.
  if (/^Failed to load resource:/.test(text)) return;
  const where = msg.location()?.url;
  report.consoleErrors.push(where ? `${text} (${where})` : text);
});
page.on("requestfailed", (request) => {
  const error = request.failure()?.errorText ?? "failed";
  if (error.includes("ERR_ABORTED")) return; // cancelled by the page itself (navigation, AbortController)
  const entry = { method: request.method(), url: request.url(), kind: "network", error, afterLogin: signedIn };
  if (opts.offlineExternal && isExternal(entry.url) && OFFLINE_ERRORS.test(error)) {
    report.offline.push(entry);
    return;
  }
  report.failedRequests.push(entry);
});
page.on("response", (response) => {
  const status = response.status();
  if (status < 400 || (status === 401 && !signedIn)) return;
  const request = response.request();
  report.failedRequests.push({ method: request.method(), url: response.url(), kind: "http", status, afterLogin: signedIn });
});

async function settle(what) {
  try {
    await page.waitForLoadState("networkidle", { timeout: TIMEOUT });
  } catch {
    report.notes.push(`the network did not go idle within ${opts.timeout} s after ${what} (a long-lived request?)`);
  }
}

async function step(name, fn) {
  const t0 = Date.now();
  try {
    const detail = await fn();
    report.steps.push({ name, ok: true, ms: Date.now() - t0, ...(detail ? { detail } : {}) });
    return true;
  } catch (err) {
    report.steps.push({ name, ok: false, ms: Date.now() - t0, error: String(err.message ?? err).split("\n")[0] });
    return false;
  }
}

async function visible(selector) {
  const el = page.locator(selector).first();
  return (await el.count()) > 0 && (await el.isVisible());
}

// Fill and submit the form holding `input`, by its own submit button.
async function submitFormOf(input) {
  const form = input.locator("xpath=ancestor::form[1]");
  const button = (await form.count()) ? form.locator("button[type=submit]").first() : page.locator("button[type=submit]").first();
  await button.click();
}

async function todoScenario() {
  const tag = Math.random().toString(36).slice(2, 10);
  const title = `berth check ${tag}`;
  const signUp = await step("sign up when the page asks", async () => {
    if (!((await visible("input[name=email]")) && (await visible("input[name=password]")))) return "no sign-up form";
    if (await visible("input[name=name]")) await page.locator("input[name=name]").first().fill(`Berth ${tag}`);
    const email = page.locator("input[name=email]").first();
    await email.fill(`berth-${tag}@example.com`);
    await page.locator("input[name=password]").first().fill(`Berth-check-${tag}-1`);
    signedIn = true; // from here on a 401 is a failure
    await submitFormOf(email);
    await page.locator("input[name=title]").first().waitFor({ state: "visible" });
    await settle("signing up");
    return "signed up";
  });
  if (!signUp) return;
  const added = await step("add a task through the UI", async () => {
    const input = page.locator("input[name=title]").first();
    await input.waitFor({ state: "visible" });
    await input.fill(title);
    await submitFormOf(input);
    await page.locator("[data-task]", { hasText: title }).first().waitFor({ state: "visible" });
    await settle("adding a task");
    return title;
  });
  if (!added) return;
  await step("reload and see the task", async () => {
    await page.reload({ waitUntil: "load" });
    await settle("reloading");
    await page.locator("[data-task]", { hasText: title }).first().waitFor({ state: "visible" });
    return title;
  });
}

try {
  await step("open the page", async () => {
    const response = await page.goto(url, { waitUntil: "load", timeout: TIMEOUT });
    if (!response) throw new Error(`no response from ${url}`);
    await settle("loading");
    if (response.status() >= 400) throw new Error(`GET ${url} answered ${response.status()}`);
    return `HTTP ${response.status()}, title ${JSON.stringify(await page.title())}`;
  });
  if (opts.scenario === "todo" && report.steps[0].ok) await todoScenario();
} finally {
  if (opts.screenshot) await page.screenshot({ path: opts.screenshot, fullPage: true }).catch(() => {});
  await context.close().catch(() => {});
  rmSync(userDataDir, { recursive: true, force: true });
}

for (const entry of report.failedRequests) {
  if (entry.kind === "network" && corsRefused.has(entry.url)) entry.kind = "cors";
}
report.durationMs = Date.now() - started;
report.ok =
  report.steps.every((s) => s.ok) && !report.failedRequests.length && !report.consoleErrors.length && !report.pageErrors.length;

const text = JSON.stringify(report, null, 1);
if (opts.json) writeFileSync(opts.json, `${text}\n`);
console.log(text);
for (const s of report.steps.filter((s) => !s.ok)) console.error(`browser-check: step failed: ${s.name}: ${s.error}`);
for (const r of report.failedRequests)
  console.error(`browser-check: failed request (${r.kind}): ${r.method} ${r.url} ${r.status ?? r.error}${r.afterLogin ? " (signed in)" : ""}`);
for (const e of report.consoleErrors) console.error(`browser-check: console error: ${e}`);
for (const e of report.pageErrors) console.error(`browser-check: page error: ${e.split("\n")[0]}`);
for (const r of report.offline) console.error(`browser-check: offline (not counted): ${r.method} ${r.url} ${r.error}`);
for (const n of report.notes) console.error(`browser-check: note: ${n}`);
console.error(
  `browser-check: ${report.ok ? "ok" : "FAILED"}: ${url}: ${report.requests} requests, ${report.failedRequests.length} failed, ` +
    `${report.consoleErrors.length + report.pageErrors.length} console/page errors, ${report.offline.length} offline` +
    (opts.scenario ? `, scenario ${opts.scenario} ${report.steps.every((s) => s.ok) ? "passed" : "failed"}` : ""),
);
process.exit(report.ok ? 0 : 1);
