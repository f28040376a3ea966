/*
 * `evtchn explore --serve`: the explorer page served on the loopback interface, for a browser
 * on the same machine (or through an SSH tunnel). Only the page itself is served; the server
 * listens on 127.0.0.1 and answers nothing else.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A running explorer server. */
export interface ExplorerServer {
  /** The page's address, e.g. `http://127.0.0.1:8642/`. */
  readonly url: string;
  /** Stops the server. */
  close(): Promise<void>;
}

/**
 * Serves `html` at `/` on 127.0.0.1.
 * @param port - the TCP port (0: any free one)
 * @throws Error when the port cannot be listened on (in use, not permitted)
 */
export async function serveExplorer(html: string, port = 0): Promise<ExplorerServer> {
  const body = Buffer.from(html, 'utf8');
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if ((req.method === 'GET' || req.method === 'HEAD') && (path === '/' || path === '/index.html')) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-length': body.length, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('not found: the explorer page is at /\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
