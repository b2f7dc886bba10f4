// Liveness/readiness for the frontend itself (outside /api, which the ingress sends to the backend).
export const dynamic = "force-dynamic";

export function GET(): Response {
  return Response.json({ status: "ok" });
}
