// Gives every browser a session: an HS256 JWT in the todo_session cookie, signed with AUTH_SECRET.
// The same cookie authenticates /api calls, whether the ingress sends them to the backend directly
// or they pass through this app's /api route handlers.
import { randomUUID } from "node:crypto";
import { NextRequest, NextResponse } from "next/server";
import { authSecret, SESSION_COOKIE, SESSION_MAX_AGE_SECONDS, signSession, verifySession } from "@/lib/session";

export async function middleware(req: NextRequest) {
  let secret: string;
  try {
    secret = authSecret();
  } catch (err) {
    return new NextResponse((err as Error).message, { status: 500 });
  }
  if (await verifySession(req.cookies.get(SESSION_COOKIE)?.value, secret)) {
    return NextResponse.next();
  }
  const token = await signSession(randomUUID(), secret);
  // Let this very request see the new cookie too, then hand it to the browser.
  req.cookies.set(SESSION_COOKIE, token);
  const res = NextResponse.next({ request: { headers: req.headers } });
  res.cookies.set(SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: "lax",
    path: "/",
    maxAge: SESSION_MAX_AGE_SECONDS,
    secure: servedOverHttps(req),
  });
  return res;
}

// APP_URL is the external URL users open (berth sets it from the exposure settings); behind a
// TLS-terminating ingress the request itself looks like plain http.
function servedOverHttps(req: NextRequest): boolean {
  return (
    (process.env.APP_URL ?? "").startsWith("https://") ||
    req.nextUrl.protocol === "https:" ||
    req.headers.get("x-forwarded-proto") === "https"
  );
}

export const config = {
  // Pages only: /api has its own handling, /healthz must work without a secret.
  matcher: ["/((?!api/|api$|healthz|_next/|favicon.ico).*)"],
  runtime: "nodejs",
};
