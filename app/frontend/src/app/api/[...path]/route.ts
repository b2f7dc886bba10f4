// Forwards /api/* to the backend (BACKEND_URL, read at request time) with a Bearer session token.
import { NextRequest, NextResponse } from "next/server";
import { backendBaseUrl, backendUrl, forwardedResponseHeaders, ProxyConfigError } from "@/lib/proxy";
import { authSecret, GUEST_USER, SESSION_COOKIE, signSession, verifySession } from "@/lib/session";

export const dynamic = "force-dynamic";

type Context = { params: Promise<{ path: string[] }> };

async function forward(req: NextRequest, ctx: Context): Promise<Response> {
  const { path } = await ctx.params;
  let target: URL;
  let token: string;
  try {
    const secret = authSecret();
    target = backendUrl(backendBaseUrl(), path, req.nextUrl.search);
    const cookie = req.cookies.get(SESSION_COOKIE)?.value;
    token = (await verifySession(cookie, secret)) ? cookie! : await signSession(GUEST_USER, secret);
  } catch (err) {
    const status = err instanceof ProxyConfigError && err.message.startsWith("bad path") ? 400 : 500;
    return NextResponse.json({ detail: (err as Error).message }, { status });
  }

  const headers = new Headers({ authorization: `Bearer ${token}`, accept: req.headers.get("accept") ?? "*/*" });
  const contentType = req.headers.get("content-type");
  if (contentType) headers.set("content-type", contentType);
  const hasBody = !["GET", "HEAD"].includes(req.method);

  let upstream: Response;
  try {
    upstream = await fetch(target, {
      method: req.method,
      headers,
      body: hasBody ? await req.arrayBuffer() : undefined,
      cache: "no-store",
      redirect: "manual",
      signal: AbortSignal.timeout(120_000),
    });
  } catch (err) {
    const cause = (err as Error & { cause?: Error }).cause?.message ?? (err as Error).message;
    return NextResponse.json(
      { detail: `backend at ${target.origin} unreachable: ${cause}` },
      { status: 502 },
    );
  }
  const body = upstream.status === 204 || upstream.status === 304 ? null : upstream.body;
  return new Response(body, { status: upstream.status, headers: forwardedResponseHeaders(upstream.headers) });
}

export { forward as GET, forward as POST, forward as PUT, forward as PATCH, forward as DELETE };
