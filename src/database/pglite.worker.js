'use strict';
// Runs PGlite and its socket server on a worker thread (see embedded-postgres.ts): queries then
// never block the HTTP event loop, and the database opens while the main thread loads code.
const { parentPort, workerData } = require('node:worker_threads');
const { PGlite } = require('@electric-sql/pglite');
const { PGLiteSocketServer } = require('@electric-sql/pglite-socket');

(async () => {
  try {
    const db = await PGlite.create(workerData.location);
    const server = new PGLiteSocketServer({
      db,
      host: '127.0.0.1',
      port: 0,
      maxConnections: workerData.maxConnections,
    });
    await server.start();
    parentPort.on('message', (message) => {
      if (message !== 'stop') return;
      server
        .stop()
        .then(() => db.close())
        .then(
          () => parentPort.postMessage({ type: 'stopped' }),
          (error) => parentPort.postMessage({ type: 'stopped', error: String(error) }),
        );
    });
    parentPort.postMessage({ type: 'ready', address: server.getServerConn() });
  } catch (error) {
    parentPort.postMessage({ type: 'error', message: String((error && error.stack) || error) });
  }
})();
