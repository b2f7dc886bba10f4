/** @type {import('next').NextConfig} */
const nextConfig = {
  // A self-contained server (.next/standalone/server.js) for the container image.
  output: "standalone",
  poweredByHeader: false,
  // scripts/app-dev.sh runs `next dev` into its own directory so it never clobbers the build.
  distDir: process.env.NEXT_DIST_DIR || ".next",
  // Nothing here may depend on where the backend lives: BACKEND_URL is read at run time.
};

export default nextConfig;
