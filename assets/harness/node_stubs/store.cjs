// In-memory DynamoDB tables shared by every SDK stand-in in the process. Each write is reported
// to the harness (and so to tumblescope) with the invocation that made it.
'use strict';

const tables = new Map();
let listener = () => {};
let readListener = () => {};
let replaying = false;

// An answer that depends on what is in a table: reported, since it may depend on writes other
// shards' environments made (tumblescope then keeps those shards in their sequential order).
function read(v) {
  if (!replaying) readListener();
  return v;
}

function table(name) {
  if (typeof name !== 'string' || !name) {
    throw Object.assign(new Error('1 validation error detected: Value null at \'tableName\' failed to satisfy constraint: Member must not be null'), { name: 'ValidationException', code: 'ValidationException' });
  }
  if (!tables.has(name)) tables.set(name, { keys: null, items: [] });
  return tables.get(name);
}

function clone(v) {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? Number(x) : x)));
}

// Key attributes are learned from the first operation that names a Key (the stand-in has no
// table definitions); until then puts add items.
function learn(t, key) {
  if (t.keys || !key || typeof key !== 'object') return;
  t.keys = Object.keys(key).sort();
  // Until now puts appended every item; a later put of a key replaced an earlier one.
  const kept = [];
  for (const item of t.items) {
    const at = kept.findIndex((i) => matches(t, i, keyOf(t, item)));
    if (at >= 0) kept[at] = item;
    else kept.push(item);
  }
  t.items = kept;
}

function matches(t, item, key) {
  const attrs = t.keys || Object.keys(key);
  return attrs.every((a) => JSON.stringify(item[a]) === JSON.stringify(key[a]));
}

function keyOf(t, item) {
  if (!t.keys) return null;
  const k = {};
  for (const a of t.keys) k[a] = item[a];
  return k;
}

function emit(tableName, op, item) {
  if (!replaying) listener({ table: tableName, op, item: clone(item) });
}

function put(name, item) {
  const t = table(name);
  const copy = clone(item);
  const key = keyOf(t, copy);
  const at = key ? t.items.findIndex((i) => matches(t, i, key)) : -1;
  const old = at >= 0 ? t.items[at] : undefined;
  if (at >= 0) t.items[at] = copy;
  else t.items.push(copy);
  emit(name, 'put', copy);
  return old;
}

function get(name, key) {
  read();
  const t = table(name);
  learn(t, key);
  const found = t.items.find((i) => matches(t, i, key));
  return clone(found);
}

function del(name, key) {
  const t = table(name);
  learn(t, key);
  const at = t.items.findIndex((i) => matches(t, i, key));
  const old = at >= 0 ? t.items.splice(at, 1)[0] : undefined;
  emit(name, 'delete', key);
  return old;
}

function scan(name) {
  read();
  return clone(table(name).items);
}

// --- UpdateExpression: SET (with +/-, if_not_exists, list_append), REMOVE, ADD, DELETE.

function splitTop(s, sep) {
  const out = [];
  let depth = 0;
  let cur = '';
  for (const c of s) {
    if (c === '(') depth++;
    if (c === ')') depth--;
    if (c === sep && depth === 0) {
      out.push(cur.trim());
      cur = '';
    } else cur += c;
  }
  if (cur.trim()) out.push(cur.trim());
  return out;
}

function update(name, key, expr, values, names) {
  read();
  const t = table(name);
  learn(t, key);
  values = values || {};
  names = names || {};
  let item = t.items.find((i) => matches(t, i, key));
  const isNew = !item;
  if (!item) item = clone(key);
  const attr = (p) => {
    p = p.trim();
    return p.startsWith('#') ? names[p] : p;
  };
  const operand = (o) => {
    o = o.trim();
    const fn = /^(\w+)\s*\((.*)\)$/.exec(o);
    if (fn) {
      const args = splitTop(fn[2], ',');
      if (fn[1] === 'if_not_exists') {
        const v = item[attr(args[0])];
        return v === undefined ? operand(args[1]) : v;
      }
      if (fn[1] === 'list_append') return [].concat(operand(args[0]) || [], operand(args[1]) || []);
      throw Object.assign(new Error('Invalid UpdateExpression: unknown function ' + fn[1]), { name: 'ValidationException' });
    }
    if (o.startsWith(':')) {
      if (!(o in values)) throw Object.assign(new Error('Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: ' + o), { name: 'ValidationException' });
      return values[o];
    }
    return item[attr(o)];
  };
  // `a + b - c` at the top level (numbers); anything else is one operand.
  const value = (v) => {
    const parts = [];
    let depth = 0;
    let cur = '';
    for (const c of v) {
      if (c === '(') depth++;
      if (c === ')') depth--;
      if ((c === '+' || c === '-') && depth === 0 && cur.trim()) {
        parts.push(cur.trim(), c);
        cur = '';
      } else cur += c;
    }
    parts.push(cur.trim());
    if (parts.length === 1) return operand(parts[0]);
    let acc = Number(operand(parts[0]));
    for (let i = 1; i + 1 < parts.length; i += 2) {
      const x = Number(operand(parts[i + 1]));
      acc = parts[i] === '+' ? acc + x : acc - x;
    }
    return acc;
  };
  const clauses = String(expr || '').split(/\b(SET|REMOVE|ADD|DELETE)\b/i).map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i + 1 < clauses.length; i += 2) {
    const kind = clauses[i].toUpperCase();
    for (const action of splitTop(clauses[i + 1], ',')) {
      if (kind === 'SET') {
        const eq = action.indexOf('=');
        item[attr(action.slice(0, eq))] = value(action.slice(eq + 1));
      } else if (kind === 'REMOVE') {
        delete item[attr(action)];
      } else if (kind === 'ADD') {
        const [p, v] = action.split(/\s+/);
        const cur = item[attr(p)];
        const add = operand(v);
        item[attr(p)] = Array.isArray(add) ? [...new Set([...(cur || []), ...add])] : Number(cur || 0) + Number(add);
      } else if (kind === 'DELETE') {
        const [p, v] = action.split(/\s+/);
        const del = operand(v) || [];
        item[attr(p)] = (item[attr(p)] || []).filter((x) => !del.includes(x));
      }
    }
  }
  if (isNew) t.items.push(item);
  emit(name, 'update', item);
  return clone(item);
}

// --- DynamoDB's typed attribute form.

function marshall(v) {
  if (v === null || v === undefined) return { NULL: true };
  if (typeof v === 'boolean') return { BOOL: v };
  if (typeof v === 'number' || typeof v === 'bigint') return { N: String(v) };
  if (typeof v === 'string') return { S: v };
  if (Array.isArray(v)) return { L: v.map(marshall) };
  if (v instanceof Set) {
    const a = [...v];
    return a.every((x) => typeof x === 'number') ? { NS: a.map(String) } : { SS: a.map(String) };
  }
  if (typeof v === 'object') return { M: marshallItem(v) };
  return { S: String(v) };
}

function marshallItem(o) {
  const out = {};
  for (const k of Object.keys(o || {})) if (o[k] !== undefined) out[k] = marshall(o[k]);
  return out;
}

function unmarshall(a) {
  if (!a || typeof a !== 'object') return a;
  if ('S' in a) return a.S;
  if ('N' in a) return Number(a.N);
  if ('BOOL' in a) return a.BOOL;
  if ('NULL' in a) return null;
  if ('L' in a) return a.L.map(unmarshall);
  if ('M' in a) return unmarshallItem(a.M);
  if ('SS' in a) return new Set(a.SS);
  if ('NS' in a) return new Set(a.NS.map(Number));
  if ('B' in a) return a.B;
  return a;
}

function unmarshallItem(o) {
  const out = {};
  for (const k of Object.keys(o || {})) out[k] = unmarshall(o[k]);
  return out;
}

function restore(writes) {
  replaying = true;
  try {
    for (const w of writes) {
      if (w.op === 'delete') del(w.table, w.item);
      else put(w.table, w.item);
    }
  } finally {
    replaying = false;
  }
}

module.exports = {
  put,
  get,
  del,
  scan,
  update,
  marshall,
  marshallItem,
  unmarshall,
  unmarshallItem,
  restore,
  read,
  onWrite: (f) => {
    listener = f;
  },
  onRead: (f) => {
    readListener = f;
  },
};
