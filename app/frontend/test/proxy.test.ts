import { describe, expect, it } from "vitest";
import { backendBaseUrl, backendUrl, forwardedResponseHeaders, ProxyConfigError } from "../src/lib/proxy";

describe("backendBaseUrl", () => {
  it("reads BACKEND_URL at call time", () => {
    expect(backendBaseUrl({ BACKEND_URL: "http://todo-chatbot-backend:8000" }).host).toBe("todo-chatbot-backend:8000");
  });

  it("explains a missing or malformed BACKEND_URL", () => {
    expect(() => backendBaseUrl({})).toThrow(/BACKEND_URL is not set/);
    expect(() => backendBaseUrl({ BACKEND_URL: "todo-chatbot-backend:8000" })).toThrow(ProxyConfigError);
    expect(() => backendBaseUrl({ BACKEND_URL: "ftp://x" })).toThrow(/not an http/);
  });
});

describe("backendUrl", () => {
  const base = new URL("http://backend:8000");

  it("maps /api/<path>?<query> onto the backend", () => {
    expect(backendUrl(base, ["tasks"], "?status=pending").toString()).toBe("http://backend:8000/api/tasks?status=pending");
    expect(backendUrl(base, ["tasks", "3", "complete"], "").toString()).toBe("http://backend:8000/api/tasks/3/complete");
  });

  it("keeps a base path and encodes segments", () => {
    const withPath = new URL("http://backend:8000/prefix/");
    expect(backendUrl(withPath, ["a b"], "").toString()).toBe("http://backend:8000/prefix/api/a%20b");
  });

  it("refuses segments that would leave /api", () => {
    expect(() => backendUrl(base, ["..", "health"], "")).toThrow(/bad path segment/);
    expect(() => backendUrl(base, ["a/b"], "")).toThrow(/bad path segment/);
  });
});

describe("forwardedResponseHeaders", () => {
  it("passes content headers and drops hop-by-hop and encoding ones", () => {
    const out = forwardedResponseHeaders(
      new Headers({ "content-type": "application/json", "content-encoding": "gzip", connection: "keep-alive", "set-cookie": "a=b" }),
    );
    expect(out.get("content-type")).toBe("application/json");
    expect(out.get("content-encoding")).toBeNull();
    expect(out.get("connection")).toBeNull();
    expect(out.get("set-cookie")).toBeNull();
  });
});
