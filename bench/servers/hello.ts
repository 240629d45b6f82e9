import { createServer } from 'node:http';
import { runChild } from './child';
import { closeServer, listen, Running } from './running';

/** The decide baseline: bare node:http that reads the body and answers a fixed hello world. */
export async function startHello(): Promise<Running> {
  const http = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '17' });
      res.end('{"hello":"world"}');
    });
  });
  return { port: await listen(http), close: () => closeServer(http) };
}

runChild('hello', () => startHello());
