// A tiny static file server for the demo page and the browser tests: serves directories under URL prefixes
// from 127.0.0.1 (an AudioWorklet module and a wasm fetch need a real HTTP origin), with the right MIME types
// and no caching. No cross-origin isolation headers: the package must work without them.
// Usage: node scripts/serve.mjs [--port N] /=www /pkg=target/pkg ...   (port 0 or absent: any free port)
// As a module: `const { url, close } = await serve({ '/pkg': 'target/pkg' }, port, { gzip })`; `gzip: true`
// compresses every answer (level 6) for a browser that accepts it, as a production server would.
import { createServer } from 'node:http';
import { createGzip } from 'node:zlib';
import { createReadStream, statSync } from 'node:fs';
import { resolve, join, extname, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.wav': 'audio/wav',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.ts': 'text/plain; charset=utf-8',
};

/** Serves `mounts` ({ urlPrefix: directory }); resolves to { url, close }. The longest prefix wins. */
export function serve(mounts, port = 0, { gzip = false } = {}) {
  const table = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix.replace(/\/$/, ''), resolve(dir)])
    .sort((a, b) => b[0].length - a[0].length);
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url, 'http://localhost').pathname);
    const mount = table.find(([prefix]) => path === prefix || path.startsWith(prefix + '/'));
    if (!mount) return notFound(response, path);
    const [prefix, dir] = mount;
    let file = join(dir, path.slice(prefix.length));
    if (file !== dir && !file.startsWith(dir + sep)) return notFound(response, path); // no escaping the mount
    try {
      if (statSync(file).isDirectory()) file = join(file, 'index.html');
      const size = statSync(file).size;
      const type = MIME[extname(file)] ?? 'application/octet-stream';
      if (gzip && /\bgzip\b/.test(request.headers['accept-encoding'] ?? '')) {
        response.writeHead(200, { 'Content-Type': type, 'Content-Encoding': 'gzip', 'Cache-Control': 'no-store' });
        createReadStream(file).pipe(createGzip({ level: 6 })).pipe(response);
        return;
      }
      response.writeHead(200, { 'Content-Type': type, 'Content-Length': size, 'Cache-Control': 'no-store' });
      createReadStream(file).pipe(response);
    } catch {
      notFound(response, path);
    }
  });
  return new Promise((resolvePromise) => {
    server.listen(port, '127.0.0.1', () => {
      resolvePromise({
        url: `http://127.0.0.1:${server.address().port}`,
        close: () => new Promise((done) => server.close(done)),
      });
    });
  });
}

function notFound(response, path) {
  response.writeHead(404, { 'Content-Type': 'text/plain' });
  response.end(`not found: ${path}\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let port = 0;
  const mounts = {};
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--port') port = Number(args[++i]);
    else {
      const [prefix, dir] = args[i].split('=');
      if (!dir) throw new Error(`expected PREFIX=DIRECTORY, got '${args[i]}'`);
      mounts[prefix] = dir;
    }
  }
  const { url } = await serve(mounts, port);
  console.log(`serving ${Object.entries(mounts).map(([p, d]) => `${p} -> ${d}`).join(', ')} at ${url}/`);
}
