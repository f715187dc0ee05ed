// Container health check: exits 0 when the service's /health returns 200 on loopback.
// HEALTHCHECK_PORT_ENV names the variable holding the port (set per image target), and
// HEALTHCHECK_PORT is the default used when that variable is unset.
const portVariable = process.env.HEALTHCHECK_PORT_ENV ?? '';
const port = Number(process.env[portVariable] || process.env.HEALTHCHECK_PORT);

if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`health check: invalid port from ${portVariable || 'HEALTHCHECK_PORT'}`);
  process.exit(1);
}

try {
  const response = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(4000) });
  if (response.status !== 200) {
    console.error(`health check: /health returned ${response.status}`);
    process.exit(1);
  }
} catch (error) {
  console.error(`health check: /health request failed (${error instanceof Error ? error.message : error})`);
  process.exit(1);
}
