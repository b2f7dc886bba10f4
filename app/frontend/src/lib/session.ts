// HS256 session tokens shared with the backend through AUTH_SECRET.
import { SignJWT, jwtVerify } from "jose";

export const SESSION_COOKIE = "todo_session";
export const SESSION_MAX_AGE_SECONDS = 60 * 60 * 24 * 30;
/** Requests that arrive without a session cookie (curl, scripts) all act as this user. */
export const GUEST_USER = "guest";

export function authSecret(env: Record<string, string | undefined> = process.env): string {
  const secret = env.AUTH_SECRET;
  if (!secret) {
    throw new Error("AUTH_SECRET is not set: the frontend needs the HS256 secret it shares with the backend");
  }
  return secret;
}

const key = (secret: string) => new TextEncoder().encode(secret);

export async function signSession(
  userId: string,
  secret: string,
  maxAgeSeconds = SESSION_MAX_AGE_SECONDS,
): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + maxAgeSeconds)
    .sign(key(secret));
}

/** The token's user id, or null when it is missing, expired, or not signed with `secret`. */
export async function verifySession(token: string | undefined, secret: string): Promise<string | null> {
  if (!token) return null;
  try {
    const { payload } = await jwtVerify(token, key(secret), { algorithms: ["HS256"] });
    return typeof payload.sub === "string" && payload.sub ? payload.sub : null;
  } catch {
    return null;
  }
}
