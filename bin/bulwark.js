#!/usr/bin/env node
'use strict';
// Node 22+ caches compiled code between runs: start-up is dominated by loading code.
const nodeModule = require('node:module');
if (typeof nodeModule.enableCompileCache === 'function') nodeModule.enableCompileCache();
require('../dist/bundle/cli.js');
