import TodoApp from "./TodoApp";

// Rendered per request so the middleware's session cookie is always in place first.
export const dynamic = "force-dynamic";

export default function Home() {
  return <TodoApp />;
}
