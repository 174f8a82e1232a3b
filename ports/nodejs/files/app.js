// A small HTTP service on Debian's nodejs: V8 compiles the hot paths
// (fib's loop reaches its optimizing tier, code it maps, writes, protects
// and runs), OpenSSL hashes through node:crypto, zlib compresses, and a
// worker thread answers too.
'use strict';
const http = require('node:http');
const crypto = require('node:crypto');
const zlib = require('node:zlib');
const { Worker } = require('node:worker_threads');

function fib(n) {
  let a = 0, b = 1;
  for (let i = 0; i < n; i++) [a, b] = [b, (a + b) % 1000000007];
  return a;
}

function inWorker(n) {
  return new Promise((resolve, reject) => {
    const w = new Worker('const {parentPort, workerData} = require("node:worker_threads"); let s = 0; for (let i = 0; i < workerData; i++) s = (s + i * i) % 1000003; parentPort.postMessage(s);', { eval: true, workerData: n });
    w.once('message', resolve);
    w.once('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  const parts = url.pathname.split('/').filter(Boolean);
  const text = (code, body) => { res.writeHead(code, { 'Content-Type': 'text/plain' }); res.end(body); };
  try {
    if (parts.length === 0) return text(200, `hello from node ${process.version}\n`);
    if (parts[0] === 'fib') return text(200, `fib(${parts[1]}) = ${fib(Number(parts[1]))}\n`);
    if (parts[0] === 'sha256') return text(200, crypto.createHash('sha256').update(parts[1] || '').digest('hex') + '\n');
    if (parts[0] === 'gzip') {
      const z = zlib.gzipSync(Buffer.from('x'.repeat(Number(parts[1]))));
      return text(200, `gunzip ${zlib.gunzipSync(z).length} bytes from ${z.length}\n`);
    }
    if (parts[0] === 'worker') return text(200, `worker sum ${await inWorker(Number(parts[1]))}\n`);
    return text(404, 'not found\n');
  } catch (e) {
    return text(500, String(e) + '\n');
  }
});
server.listen(Number(process.argv[2] || 8080), () => console.error(`listening on ${server.address().port}`));
