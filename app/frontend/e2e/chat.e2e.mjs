// End-to-end: a real browser (Debian's chromium via playwright-core) against the running stack.
// Adds a task through the chat panel and expects it in the task list.
//
//   FRONTEND_URL=http://127.0.0.1:3000 SCREENSHOT=/path/shot.png node e2e/chat.e2e.mjs
import { mkdtempSync, mkdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { chromium } from "playwright-core";

const url = process.env.FRONTEND_URL;
const screenshot = process.env.SCREENSHOT ?? join(process.cwd(), "test-results", "e2e-chat.png");
const executablePath = process.env.CHROMIUM ?? "/usr/bin/chromium";
if (!url) {
  console.error("e2e: FRONTEND_URL is not set");
  process.exit(2);
}

const TIMEOUT = 30_000;
const title = `buy milk ${Math.random().toString(36).slice(2, 8)}`;
const userDataDir = mkdtempSync(join(tmpdir(), "todo-e2e-chromium-"));
mkdirSync(dirname(screenshot), { recursive: true });

function check(condition, message) {
  if (!condition) throw new Error(message);
}

const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
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
  viewport: { width: 1200, height: 800 },
});
const page = context.pages()[0] ?? (await context.newPage());
page.setDefaultTimeout(TIMEOUT);
const problems = [];
page.on("pageerror", (err) => problems.push(`page error: ${err.stack ?? err.message}`));
page.on("console", (msg) => msg.type() === "error" && problems.push(`console error: ${msg.text()} ${msg.location().url ?? ""}`));

let failed = false;
try {
  const response = await page.goto(url, { waitUntil: "networkidle" });
  check(response?.ok(), `GET ${url} answered ${response?.status()}`);
  await page.getByRole("heading", { name: "Tasks" }).waitFor();

  const cookie = (await context.cookies(url)).find((c) => c.name === "todo_session");
  check(cookie?.httpOnly && cookie.sameSite === "Lax", "middleware did not set an httpOnly, SameSite=Lax todo_session cookie");

  const tasks = page.getByTestId("task-list").getByTestId("task-item");
  check((await tasks.filter({ hasText: title }).count()) === 0, "the new task is there before it was added");

  await page.getByTestId("chat-input").fill(`add ${title}`);
  await page.getByTestId("chat-send").click();
  const reply = page.getByTestId("chat-assistant").filter({ hasText: `"${title}"` });
  await reply.waitFor();
  check((await reply.innerText()).startsWith("Added task"), `unexpected reply: ${await reply.innerText()}`);

  const item = tasks.filter({ hasText: title });
  await item.waitFor();
  const idText = await item.locator(".id").innerText();
  const taskId = idText.replace("#", "");

  // The list is backed by the database, not by page state: it survives a reload.
  await page.reload({ waitUntil: "networkidle" });
  await tasks.filter({ hasText: title }).waitFor();

  await page.getByTestId("chat-input").fill(`complete ${taskId}`);
  await page.getByTestId("chat-send").click();
  await page.getByTestId("chat-assistant").filter({ hasText: `Completed task ${taskId}` }).waitFor();
  await tasks.filter({ hasText: title }).locator('input[type="checkbox"]:checked').waitFor();

  await page.screenshot({ path: screenshot, fullPage: true });
  console.log(`e2e: added "${title}" (task ${taskId}) through the chat panel, saw it in the list, completed it`);
  console.log(`e2e: screenshot ${screenshot}`);
} catch (err) {
  failed = true;
  const failShot = screenshot.replace(/\.png$/, "") + "-failure.png";
  await page.screenshot({ path: failShot, fullPage: true }).catch(() => {});
  console.error(`e2e: FAILED: ${err.message}`);
  console.error(`e2e: screenshot of the failure ${failShot}`);
  for (const p of problems) console.error(`e2e: ${p}`);
} finally {
  await context.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);
