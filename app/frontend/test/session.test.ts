import { describe, expect, it } from "vitest";
import { SignJWT } from "jose";
import { authSecret, signSession, verifySession } from "../src/lib/session";

const SECRET = "test-secret-that-is-long-enough-for-hs256";

describe("session tokens", () => {
  it("round-trips the user id", async () => {
    const token = await signSession("user-42", SECRET);
    expect(await verifySession(token, SECRET)).toBe("user-42");
  });

  it("is a plain HS256 JWT the backend can read", async () => {
    const token = await signSession("user-42", SECRET);
    const [header, payload] = token.split(".").slice(0, 2).map((part) => JSON.parse(Buffer.from(part, "base64url").toString()));
    expect(header.alg).toBe("HS256");
    expect(payload.sub).toBe("user-42");
    expect(payload.exp).toBeGreaterThan(Date.now() / 1000);
  });

  it("rejects a token signed with another secret", async () => {
    const token = await signSession("user-42", "some-other-secret-of-good-length!!");
    expect(await verifySession(token, SECRET)).toBeNull();
  });

  it("rejects an expired token", async () => {
    const token = await signSession("user-42", SECRET, -60);
    expect(await verifySession(token, SECRET)).toBeNull();
  });

  it("rejects a token without a subject, and garbage", async () => {
    const noSub = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(SECRET));
    expect(await verifySession(noSub, SECRET)).toBeNull();
    expect(await verifySession("not.a.jwt", SECRET)).toBeNull();
    expect(await verifySession(undefined, SECRET)).toBeNull();
  });

  it("explains a missing AUTH_SECRET", () => {
    expect(() => authSecret({})).toThrow(/AUTH_SECRET is not set/);
    expect(authSecret({ AUTH_SECRET: "x" })).toBe("x");
  });
});
