// Pure helpers for the /api/* route handlers that forward to the backend.

export class ProxyConfigError extends Error {}

/** BACKEND_URL from the environment at request time (never baked into the bundle). */
export function backendBaseUrl(env: Record<string, string | undefined> = process.env): URL {
  const raw = env.BACKEND_URL;
  if (!raw) {
    throw new ProxyConfigError("BACKEND_URL is not set: point it at the backend, e.g. http://todo-chatbot-backend:8000");
  }
  try {
    const url = new URL(raw);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new Error("not http(s)");
    return url;
  } catch {
    throw new ProxyConfigError(`BACKEND_URL is not an http(s) URL: ${JSON.stringify(raw)}`);
  }
}

/** The backend URL for /api/<segments...>?<search>; refuses segments that could climb out of /api. */
export function backendUrl(base: URL, segments: string[], search: string): URL {
  for (const s of segments) {
    if (s === "" || s === "." || s === ".." || s.includes("/")) {
      throw new ProxyConfigError(`bad path segment ${JSON.stringify(s)}`);
    }
  }
  const prefix = base.pathname.replace(/\/+$/, "");
  const url = new URL(base.toString());
  url.pathname = `${prefix}/api/${segments.map(encodeURIComponent).join("/")}`;
  url.search = search;
  return url;
}

const FORWARDED_RESPONSE_HEADERS = ["content-type", "cache-control", "location", "retry-after"];

/** Only end-to-end headers we mean to pass back; hop-by-hop and encoding headers stay behind. */
export function forwardedResponseHeaders(from: Headers): Headers {
  const out = new Headers();
  for (const name of FORWARDED_RESPONSE_HEADERS) {
    const value = from.get(name);
    if (value !== null) out.set(name, value);
  }
  return out;
}
