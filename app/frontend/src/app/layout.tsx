import type { Metadata } from "next";
import "./globals.css";

export const metadata: Metadata = {
  title: "Todo chatbot",
  description: "A todo list you can talk to",
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
