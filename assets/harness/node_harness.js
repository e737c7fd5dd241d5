// tumblescope's Node.js harness: loads one Lambda handler once, then answers invocations read
// from stdin (one JSON message per line) with framed JSON lines on stdout. Everything the
// function prints (console.*, process.stdout/stderr writes) is captured per invocation, so the
// function's own output can never corrupt the protocol. AWS SDK v2/v3 DynamoDB clients are
// replaced by in-memory stand-ins; nothing reaches AWS.
'use strict';

const fs = require('fs');
const path = require('path');
const Module = require('module');
const { pathToFileURL } = require('url');

const [handlerPath, exportName, nonce, stubDir] = process.argv.slice(2);
const MARK = '\u001eTSR ' + nonce + ' ';
// Protocol output goes straight to fd 1, synchronously: the runtime blocks reading its next
// message between invocations, so a large response queued inside process.stdout would never
// drain.
function realWrite(text) {
  // Written as a string first: no Buffer to allocate (and collect) per message. A blocking
  // pipe takes it whole; a non-blocking one (if the function touched process.stdout) may take
  // part or refuse, and the rest then goes through the byte loop below.
  let done = 0;
  try {
    done = fs.writeSync(1, text);
  } catch (e) {
    if (e.code !== 'EAGAIN') throw e;
  }
  if (done === text.length && done === Buffer.byteLength(text)) return;
  const buf = Buffer.from(text, 'utf8');
  let off = done;
  while (off < buf.length) {
    try {
      off += fs.writeSync(1, buf, off, buf.length - off);
    } catch (e) {
      if (e.code !== 'EAGAIN') throw e;
      Atomics.wait(SLEEP, 0, 0, 1);
    }
  }
}
const store = require(path.join(stubDir, 'store.cjs'));
const SLEEP = new Int32Array(new SharedArrayBuffer(4)); // for short sleeps via Atomics.wait

// Most invocations print and write nothing.
function jsonList(a) {
  return a.length === 0 ? '[]' : JSON.stringify(a);
}

function send(msg) {
  realWrite(MARK + JSON.stringify(msg) + '\n');
}

// ---------------------------------------------------------------------------
// Output capture: every line the function prints goes to the current invocation's logs, in
// CloudWatch's format for the Node.js runtime.

let current = null; // { id, requestId, logs, writes, simMs }

// Log lines carry the simulated time of the invocation (so traces stay reproducible), not the
// wall clock.
function logTime() {
  return new Date(current && current.simMs !== undefined ? current.simMs : Date.now()).toISOString();
}
const pending = []; // log lines printed between invocations

function logLine(level, args) {
  const util = require('util');
  const text = util.format.apply(null, args);
  const requestId = current ? current.requestId : 'init';
  const line = logTime() + '\t' + requestId + '\t' + level + '\t' + text;
  emitLog(line);
}

// Log text kept per invocation, as tumblescope keeps it (a CloudWatch Logs event is at most
// 256 KB, one PutLogEvents batch 1 MB): past it, bytes are only counted, so a function that
// prints in a loop cannot fill memory here or in tumblescope.
const LINE_LIMIT = 256 * 1024;
const LOG_LIMIT = 1048576;
let logBytes = 0;
let droppedLogBytes = 0;

// Lines go out as they are printed (as to CloudWatch), so a function that then hangs or exits
// still shows what it said.
function emitLog(line) {
  let size = Buffer.byteLength(line);
  if (size > LINE_LIMIT) {
    const kept = Buffer.from(line).subarray(0, LINE_LIMIT).toString('utf8').replace(/\uFFFD$/, '');
    line = kept + ' \u2026 ' + (size - Buffer.byteLength(kept)) + ' bytes more';
    size = Buffer.byteLength(line);
  }
  if (droppedLogBytes > 0 || logBytes + size > LOG_LIMIT) {
    // Said once, as it happens: a function that then times out still shows the cut.
    if (droppedLogBytes === 0) emitRaw(CUT_NOTE);
    droppedLogBytes += size;
    return;
  }
  logBytes += size;
  emitRaw(line);
}

const CUT_NOTE = '\u2026 further output left out (tumblescope keeps ' + LOG_LIMIT + ' bytes of log text per invocation)';

function emitRaw(line) {
  if (current) realWrite(MARK + '{"type":"log","id":' + current.id + ',"line":' + JSON.stringify(line) + '}\n');
  else pending.push(line);
}

// The log budget starts again with each invocation; what was left out is reported with it.
function takeDropped() {
  const d = droppedLogBytes;
  droppedLogBytes = 0;
  logBytes = 0;
  return d;
}

console.log = (...a) => logLine('INFO', a);
console.info = (...a) => logLine('INFO', a);
console.warn = (...a) => logLine('WARN', a);
console.error = (...a) => logLine('ERROR', a);
console.debug = (...a) => logLine('DEBUG', a);
console.trace = (...a) => logLine('TRACE', a);
function rawCapture(chunk, encoding, cb) {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(encoding || 'utf8');
  for (const l of text.split('\n')) if (l.length) emitLog(l);
  if (typeof encoding === 'function') encoding();
  else if (typeof cb === 'function') cb();
  return true;
}
process.stdout.write = rawCapture;
process.stderr.write = rawCapture;

store.onRead(() => {
  if (!current || current.read) return;
  current.read = true;
  send({ type: 'read', id: current.id });
});

store.onWrite((w) => {
  if (!current) return;
  current.writes.push(w);
  // Sent as it happens too: a write is a side effect that stays when the invocation then
  // times out or crashes (the result, which also lists it, never comes then).
  send({ type: 'write', id: current.id, write: w });
});

// ---------------------------------------------------------------------------
// SDK stand-ins take precedence over anything in node_modules.

const STUBS = {
  'aws-sdk': 'aws-sdk.cjs',
  'aws-sdk/clients/dynamodb': 'aws-sdk-dynamodb.cjs',
  '@aws-sdk/client-dynamodb': 'client-dynamodb.cjs',
  '@aws-sdk/lib-dynamodb': 'lib-dynamodb.cjs',
};
const originalLoad = Module._load;
Module._load = function (request, parent, isMain) {
  if (Object.prototype.hasOwnProperty.call(STUBS, request)) {
    return originalLoad.call(this, path.join(stubDir, STUBS[request]), parent, isMain);
  }
  return originalLoad.call(this, request, parent, isMain);
};

function errorOf(e) {
  if (e instanceof Error) {
    const stack = typeof e.stack === 'string' ? e.stack.split('\n') : [];
    return {
      errorType: e.name && e.name !== 'Error' ? e.name : (e.constructor && e.constructor.name) || 'Error',
      errorMessage: String(e.message),
      stackTrace: stack.slice(1).map((s) => s.trim() ? s : s),
    };
  }
  // Lambda reports a thrown non-Error by its string form.
  let message;
  try {
    message = typeof e === 'string' ? e : JSON.stringify(e);
  } catch (_) {
    message = String(e);
  }
  return { errorType: typeof e === 'string' ? 'string' : typeof e, errorMessage: message, stackTrace: [] };
}

async function loadHandler() {
  const ext = path.extname(handlerPath);
  let mod;
  if (ext === '.mjs') {
    const { register } = require('module');
    if (typeof register === 'function') {
      register(pathToFileURL(path.join(stubDir, 'esm-hooks.mjs')).href, { data: { stubDir } });
    }
    mod = await import(pathToFileURL(handlerPath).href);
  } else {
    mod = require(handlerPath);
  }
  const fn = mod[exportName] || (mod.default && mod.default[exportName]);
  if (typeof fn !== 'function') {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === 'function');
    const err = new Error(
      handlerPath + ' does not export a function named "' + exportName + '"' +
        (names.length ? ' (it exports: ' + names.join(', ') + ')' : ' (it exports no functions)'),
    );
    err.name = 'Runtime.HandlerNotFound';
    err.stack = err.name + ': ' + err.message;
    throw err;
  }
  return fn;
}

function contextFor(msg) {
  const deadline = msg.deadlineMs;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: msg.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: msg.functionArn,
    memoryLimitInMB: '128',
    awsRequestId: msg.requestId,
    logGroupName: '/aws/lambda/' + msg.functionName,
    logStreamName: '2026/01/01/[$LATEST]tumblescope',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: undefined,
    succeed: undefined,
    fail: undefined,
  };
}

// Kinesis events arrive in a shorter form (only what varies per record, four values each, in
// one flat array) and are rebuilt here with the same keys, order and values as the event
// Lambda sends; parsing the full text was most of the runtime's time per invocation. `rest` is
// the event without `Records` (window, state, ...), whose keys follow `Records` in order.
function kinesisEvent(k, rest) {
  const a = k.records;
  const records = new Array(a.length >> 2);
  const idPrefix = k.shardId + ':';
  for (let i = 0, j = 0; j < a.length; i++, j += 4) {
    records[i] = {
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: a[j],
        sequenceNumber: a[j + 1],
        data: a[j + 2],
        approximateArrivalTimestamp: a[j + 3],
      },
      eventSource: 'aws:kinesis',
      eventVersion: '1.0',
      eventID: idPrefix + a[j + 1],
      eventName: 'aws:kinesis:record',
      invokeIdentityArn: k.role,
      awsRegion: k.region,
      eventSourceARN: k.arn,
    };
  }
  const event = { Records: records };
  for (const key of Object.keys(rest)) event[key] = rest[key];
  return event;
}

// Runs one invocation the way Lambda's Node.js runtime does: a returned promise is awaited; a
// handler taking a callback answers through it; a plain function's return value is the result.
function invoke(fn, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const finish = (err, value) => {
      if (settled) return;
      settled = true;
      if (err !== null && err !== undefined) reject(err);
      else resolve(value === undefined ? null : value);
    };
    context.done = finish;
    context.succeed = (v) => finish(null, v);
    context.fail = (e) => finish(e === undefined ? new Error('handled') : e);
    let result;
    try {
      // The executor's closure scope outlives the call (finish is reachable from context), so
      // keeping the event in it made every event survive young-generation GC: dropping it here
      // cut the harness's GC time about tenfold.
      const ev = event;
      event = null;
      result = fn(ev, context, finish);
    } catch (e) {
      finish(e);
      return;
    }
    if (result && typeof result.then === 'function') {
      result.then((v) => finish(null, v), (e) => finish(e === undefined ? new Error('undefined') : e));
    } else if (fn.length < 3) {
      finish(null, result);
    }
  });
}

async function main() {
  let fn;
  try {
    fn = await loadHandler();
  } catch (e) {
    const err = errorOf(e);
    if (e instanceof SyntaxError) err.errorType = 'Runtime.UserCodeSyntaxError';
    else if (e && e.code === 'MODULE_NOT_FOUND') err.errorType = 'Runtime.ImportModuleError';
    send({ type: 'init-error', error: err, logs: pending.splice(0) });
    process.exitCode = 1;
    return;
  }
  send({ type: 'ready', logs: pending.splice(0) });
  // Nothing else holds the event loop open now that stdin is read synchronously: without this,
  // a handler awaiting a promise that never settles would end the process instead of running
  // into the timeout, as it does on Lambda.
  setInterval(() => {}, 1 << 30);

  // Between invocations the runtime blocks in a synchronous read, as a Lambda sandbox is frozen
  // between invocations. Reading fd 0 straight into one reusable buffer (rather than through
  // process.stdin's 64 KB chunks, concatenated per message) roughly halves the harness's cost per
  // 60 KB event, which matters because JSON.parse is then nearly all that is left.
  for (;;) {
    const line = nextLine();
    if (line === null) process.exit(0);
    let msg;
    try {
      msg = JSON.parse(line);
    } catch (e) {
      send({ type: 'protocol-error', error: errorOf(e) });
      continue;
    }
    if (msg.type === 'restore') {
      store.restore(msg.writes || []);
      continue;
    }
    current = { id: msg.id, requestId: msg.requestId, logs: pending.length ? pending.splice(0) : [], writes: [], simMs: msg.simMs };
    const started = performance.now();
    try {
      let event = msg.kinesis ? kinesisEvent(msg.kinesis, msg.event) : msg.event;
      msg.event = msg.kinesis = null;
      const running = invoke(fn, event, contextFor(msg));
      event = null; // held by nothing here while the function runs (see invoke)
      const value = await running;
      let text;
      try {
        text = JSON.stringify(value === undefined ? null : value);
      } catch (e) {
        throw Object.assign(new Error('Unable to stringify response body: ' + e.message), { name: 'Runtime.MarshalError' });
      }
      const us = Math.round((performance.now() - started) * 1000);
      realWrite(
        MARK + '{"type":"result","id":' + msg.id + ',"ok":true,"durationUs":' + us +
          ',"droppedLogBytes":' + takeDropped() +
          ',"logs":' + jsonList(current.logs) + ',"writes":' + jsonList(current.writes) +
          ',"response":' + (text === undefined ? 'null' : text) + '}\n',
      );
    } catch (e) {
      const us = Math.round((performance.now() - started) * 1000);
      send({ type: 'result', id: msg.id, ok: false, durationUs: us, droppedLogBytes: takeDropped(), error: errorOf(e), logs: current.logs, writes: current.writes });
    }
    current = null;
    // Let callbacks the invocation left behind (timers at 0, I/O completions) run before the
    // runtime blocks again.
    await new Promise(setImmediate);
  }
}

// ---------------------------------------------------------------------------
// Protocol input: newline-terminated messages read synchronously from fd 0.

let inBuf = Buffer.allocUnsafe(1 << 20);
let inStart = 0; // first unread byte
let inEnd = 0; // end of the bytes read so far
let inScan = 0; // bytes before this have been searched for a newline


function nextLine() {
  for (;;) {
    const nl = inBuf.indexOf(10, inScan);
    if (nl >= 0 && nl < inEnd) {
      const text = inBuf.toString('utf8', inStart, nl);
      inStart = inScan = nl + 1;
      return text;
    }
    inScan = inEnd;
    if (inStart > 0) {
      inBuf.copy(inBuf, 0, inStart, inEnd);
      inEnd -= inStart;
      inScan -= inStart;
      inStart = 0;
    }
    if (inEnd === inBuf.length) {
      const bigger = Buffer.allocUnsafe(inBuf.length * 2);
      inBuf.copy(bigger, 0, 0, inEnd);
      inBuf = bigger;
    }
    let n;
    try {
      n = fs.readSync(0, inBuf, inEnd, inBuf.length - inEnd, null);
    } catch (e) {
      // Only if something made fd 0 non-blocking (the function touching process.stdin).
      if (e.code === 'EAGAIN') {
        Atomics.wait(SLEEP, 0, 0, 1);
        continue;
      }
      if (e.code === 'EOF') return null;
      throw e;
    }
    if (n === 0) return null;
    inEnd += n;
  }
}

// process.exit() inside the handler: hand over what it printed before the runtime goes away
// (writes to a pipe are synchronous on Linux and macOS, so this arrives).
process.on('exit', () => {
  if (current) realWrite(MARK + JSON.stringify({ type: 'exit-logs', id: current.id, logs: current.logs }) + '\n');
});

process.on('unhandledRejection', (e) => {
  if (current) emitLog(logTime() + '\t' + current.requestId + '\tERROR\tUnhandled Promise Rejection\t' + String(e && e.stack || e));
});

main();
